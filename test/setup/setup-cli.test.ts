import { expect } from 'chai';
import type { KillBillStandin } from '../killbill-standin/index.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { freePort } from '../support/wait.js';
import {
  PROJECT,
  SECRETS,
  bridgeCli,
  createAccount,
  killBillState,
  startStandin,
  withTempDir,
} from './setup-harness.js';

/** The command as an operator runs it: `node bin/bridge.js setup …`, settings from the environment. */
describe('bridge setup (CLI)', function () {
  // Each run starts a Node process with tsx, about a second.
  this.timeout(60_000);
  let kb: KillBillStandin;
  let env: Record<string, string>;

  before(async () => {
    kb = await startStandin();
    env = {
      KILLBILL_URL: kb.url,
      KILLBILL_USERNAME: 'admin',
      KILLBILL_PASSWORD: 'password',
      KILLBILL_API_KEY: 'bob',
      KILLBILL_API_SECRET: 'lazar',
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
    };
  });
  after(async () => {
    await kb?.close();
  });
  beforeEach(() => {
    kb.control.reset();
    kb.control.stopDelivery();
  });

  const noSecrets = (run: { stdout: string; stderr: string }) => {
    for (const secret of SECRETS) expect(run.stdout + run.stderr, secret).not.to.include(secret);
  };

  it('exits 0 and prints one line per step; the second run finds everything already done', async () => {
    await withTempDir(async (cwd) => {
      const first = await bridgeCli(['--create-tenant'], env, cwd);
      expect(first.code, first.stdout + first.stderr).to.equal(0);
      expect(first.stdout.trim().split('\n')).to.deep.equal([
        `✓ Kill Bill: ok (reachable at ${kb.url}, user accepted; tenant "bob" is to be created)`,
        '✓ tenant: done (created tenant "bob")',
        '✓ catalog: done (uploaded OpenstackBridge effective 2024-01-01T00:00:00.000Z)',
        '✓ callback: done (registered http://127.0.0.1:8081/killbill/notifications?token=********)',
      ]);
      noSecrets(first);

      const accountId = await createAccount(kb.url);
      const args = [
        '--create-tenant',
        '--account',
        accountId,
        '--project',
        PROJECT,
        '--metrics',
        'instance,vcpus',
      ];
      const linked = await bridgeCli(args, env, cwd);
      expect(linked.code, linked.stdout).to.equal(0);
      const before = await killBillState(kb.url, accountId);

      const again = await bridgeCli([...args, '--json'], env, cwd);
      expect(again.code, again.stdout + again.stderr).to.equal(0);
      const report = JSON.parse(again.stdout) as {
        ok: boolean;
        steps: Array<{ step: string; status: string }>;
      };
      expect(report.ok).to.be.true;
      expect(report.steps.map((s) => `${s.step}=${s.status}`)).to.deep.equal([
        'Kill Bill=ok',
        'tenant=already-done',
        'catalog=already-done',
        'callback=already-done',
        'account fields=already-done',
        'subscription=already-done',
      ]);
      expect(await killBillState(kb.url, accountId)).to.deep.equal(before);
      noSecrets(again);
    });
  });

  it('exits 1 with a one-line reason: unreachable, wrong credentials, bad project, bad catalog', async () => {
    const port = await freePort();
    await withTempDir(async (cwd) => {
      const runs = await Promise.all([
        bridgeCli([], { ...env, KILLBILL_URL: `http://127.0.0.1:${port}` }, cwd),
        bridgeCli(['--create-tenant'], { ...env, KILLBILL_PASSWORD: 'not-the-password' }, cwd),
        bridgeCli(['--account', '3f1c2b7e-1d2a-4c5b-9e8f-0a1b2c3d4e5f', '--project', 'my-project'], env, cwd),
        bridgeCli(['--catalog', 'no-such-catalog.xml'], env, cwd),
      ]);
      const expected = [
        `✗ Kill Bill: cannot reach Kill Bill at http://127.0.0.1:${port}: no answer (ECONNREFUSED)`,
        `✗ Kill Bill: wrong credentials: Kill Bill at ${kb.url} refused user "admin" (401)`,
        '✗ account fields: --project "my-project" is not a Keystone project id (32 hex digits or a UUID)',
        '✗ catalog: no-such-catalog.xml: cannot read it (ENOENT)',
      ];
      runs.forEach((run, i) => {
        expect(run.code, run.stdout + run.stderr).to.equal(1);
        expect(run.stdout).to.equal(`${expected[i]}\n`);
        expect(run.stderr).to.equal('');
        noSecrets(run);
      });
    });
    expect(await killBillState(kb.url)).to.deep.equal({ tenant: 404 });
  });

  it('exits 2 on a configuration problem, before calling Kill Bill', async () => {
    await withTempDir(async (cwd) => {
      const { KILLBILL_API_SECRET: _omitted, ...withoutSecret } = env;
      const run = await bridgeCli(['--create-tenant'], withoutSecret, cwd);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.match(/killbill\.apiSecret/);
      expect(run.stdout).to.equal('');
    });
    expect(await killBillState(kb.url)).to.deep.equal({ tenant: 404 });
  });
});
