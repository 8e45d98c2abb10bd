import { expect } from 'chai';
import { freePort } from '../support/wait.js';
import {
  PROJECT,
  SetupBench,
  bridgeCli,
  createAccount,
  killBillState,
  secretsOf,
  type SetupTarget,
  withTempDir,
} from './setup-harness.js';

/** The command as an operator runs it: `node bin/bridge.js setup …`, settings from the environment. */
describe('bridge setup (CLI, real Kill Bill)', function () {
  // Each run starts a Node process with tsx, about a second (several under load).
  this.timeout(60_000);
  let bench: SetupBench;
  /** Keys of a tenant Kill Bill does not have yet, new per test: `--create-tenant` makes it. */
  let kb: SetupTarget;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    bench = await SetupBench.start();
  });
  after(async () => {
    await bench?.close();
  });
  beforeEach(() => {
    kb = bench.newKeys();
    env = bench.env(kb);
  });

  const noSecrets = (run: { stdout: string; stderr: string }) => {
    for (const secret of secretsOf(kb)) expect(run.stdout + run.stderr, secret).not.to.include(secret);
  };

  it('exits 0 and prints one line per step; the second run finds everything already done', async () => {
    await withTempDir(async (cwd) => {
      const first = await bridgeCli(['--create-tenant'], env, cwd);
      expect(first.code, first.stdout + first.stderr).to.equal(0);
      expect(first.stdout.trim().split('\n')).to.deep.equal([
        `✓ Kill Bill: ok (reachable at ${kb.url}, user accepted; tenant "${kb.apiKey}" is to be created)`,
        `✓ tenant: done (created tenant "${kb.apiKey}")`,
        '✓ catalog: done (uploaded OpenstackBridge effective 2024-01-01T00:00:00.000Z)',
        `✓ callback: done (registered ${bench.publicUrl}/killbill/notifications?token=********)`,
      ]);
      noSecrets(first);

      const accountId = await createAccount(kb);
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
      const before = await killBillState(kb, accountId);

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
      expect(await killBillState(kb, accountId)).to.deep.equal(before);
      noSecrets(again);
    });
  });

  it('uploads the catalog of a tenant that has none; --dry-run first says it would', async () => {
    const tenant = await bench.newTenant();
    await withTempDir(async (cwd) => {
      const upload = 'OpenstackBridge effective 2024-01-01T00:00:00.000Z';
      const dry = await bridgeCli(['--dry-run'], bench.env(tenant), cwd);
      expect(dry.code, dry.stdout + dry.stderr).to.equal(0);
      expect(dry.stdout).to.include(`- catalog: would do (upload ${upload})\n`);
      const run = await bridgeCli([], bench.env(tenant), cwd);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.include(`✓ catalog: done (uploaded ${upload})\n`);
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
    expect(await killBillState(kb)).to.deep.equal({ tenant: 'none' });
  });

  it('exits 2 on a configuration problem, before calling Kill Bill', async () => {
    await withTempDir(async (cwd) => {
      const { KILLBILL_API_SECRET: _omitted, ...withoutSecret } = env;
      const run = await bridgeCli(['--create-tenant'], withoutSecret, cwd);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.match(/killbill\.apiSecret/);
      expect(run.stdout).to.equal('');
    });
    expect(await killBillState(kb)).to.deep.equal({ tenant: 'none' });
  });
});
