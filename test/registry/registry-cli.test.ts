import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { freePort } from '../support/wait.js';
import { METRIC_UNITS, RegistryHarness, projectId } from './registry-harness.js';

const BRIDGE = fileURLToPath(new URL('../../bin/bridge.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI, as an operator runs it, configured through the environment only. */
function bridge(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BRIDGE, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface ShowJson {
  tenants: Array<{ tenant: string; lastReconcile: string | null; accounts: number }>;
  metered: Array<Record<string, unknown>>;
  notMetered: Array<Record<string, unknown>>;
  problems: Array<Record<string, unknown>>;
}

describe('bridge registry sync|show (the real CLI, real Kill Bill)', function () {
  this.timeout(3 * 60_000);
  let h: RegistryHarness;
  let env: Record<string, string>;
  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    h = await RegistryHarness.start();
    env = {
      REDIS_URL: h.redis.url,
      KILLBILL_URL: h.tenant.url,
      KILLBILL_USERNAME: h.tenant.username,
      KILLBILL_PASSWORD: h.tenant.password,
      KILLBILL_API_KEY: h.apiKey,
      KILLBILL_API_SECRET: h.tenant.apiSecret,
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
      // The configuration refuses to load without a way to CloudKitty, even for commands that never call it.
      CLOUDKITTY_URL: 'http://127.0.0.1:9',
      BRIDGE_METRIC_UNITS: JSON.stringify(METRIC_UNITS),
    };
  });
  after(async () => {
    await h?.close();
  });

  it('show --json: what is metered, and for the rest why not, with conflicts and bad values', async () => {
    const metered = await h.meteredAccount(projectId(), { [FIELD.metrics]: 'instance' });
    const shared = projectId();
    const left = await h.meteredAccount(shared, { [FIELD.metrics]: 'vcpus' });
    const right = await h.meteredAccount(shared, { [FIELD.metrics]: 'vcpus' });
    const bad = await h.createAccount({ [FIELD.enabled]: 'maybe', [FIELD.projectId]: projectId() });
    await h.waitForEntry('the good one is metered', metered.subscriptionId, (x) => x.status === 'metered');
    await h.settled();

    // Three processes at once: each spends most of its time starting TypeScript.
    const [run, oneRun, table] = await Promise.all([
      bridge(['registry', 'show', '--json'], env),
      bridge(['registry', 'show', '--json', '--account', left.accountId], env),
      bridge(['registry', 'show'], env),
    ]);
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    const shown = JSON.parse(run.stdout) as ShowJson;
    // The only reconcile so far: the rebuild Kill Bill's notice of the catalog upload asked for.
    const lastReconcile = new Date(h.catalogRebuild.at).toISOString();
    expect(shown.tenants).to.deep.equal([{ tenant: h.apiKey, lastReconcile, accounts: 4 }]);
    const since = (await h.entry(metered.subscriptionId))!.since;
    expect(shown.metered).to.have.length(1);
    expect(shown.metered[0]).to.deep.include({
      tenant: h.apiKey,
      accountId: metered.accountId,
      subscriptionId: metered.subscriptionId,
      projectId: metered.project,
      units: { instance: 'openstack-billed-instance' },
      since,
      until: null,
    });
    const notMetered = new Map(shown.notMetered.map((e) => [e.subscriptionId, e]));
    expect(notMetered.get(left.subscriptionId)).to.deep.include({
      status: 'conflict',
      projectId: shared,
      conflictsWith: [right.subscriptionId],
    });
    expect(notMetered.get(right.subscriptionId)).to.deep.include({ conflictsWith: [left.subscriptionId] });
    expect(notMetered.get(bad.subscriptionIds[0]!)).to.deep.include({
      status: 'not-metered',
      reasons: [`${FIELD.enabled} must be true or false`],
    });
    expect(shown.problems).to.deep.include({
      tenant: h.apiKey,
      accountId: bad.accountId,
      subscriptionId: bad.subscriptionIds[0],
      field: FIELD.enabled,
      value: 'maybe',
      message: `${FIELD.enabled} must be true or false`,
    });

    const one = JSON.parse(oneRun.stdout);
    expect([...one.metered, ...one.notMetered].map((e: { accountId: string }) => e.accountId)).to.deep.equal([
      left.accountId,
    ]);

    expect(table.code).to.equal(0);
    expect(table.stdout).to.match(/^Metered \(1\):$/m);
    expect(table.stdout).to.include(metered.subscriptionId).and.include(metered.project);
    expect(table.stdout).to.match(/^Not metered \(3\):$/m);
    expect(table.stdout).to.include(`also metered by subscription(s) ${right.subscriptionId}`);
    expect(table.stdout).to.include('"maybe"');
  });

  it('sync heals a change Kill Bill sent no notification for, and prints counts', async () => {
    const { accountId, subscriptionId, project } = await h.meteredAccount();
    await h.waitForEntry('metered', subscriptionId, (x) => x.projectId === project);
    await h.settled();
    const moved = projectId();
    const fieldId = await h.accountFieldId(accountId, FIELD.projectId);
    await h.kb.updateAccountCustomFields(accountId, [{ customFieldId: fieldId, value: moved }]);

    const one = await bridge(['registry', 'sync', '--account', accountId], env);
    expect(one.stderr).to.equal('');
    expect(one.code).to.equal(0);
    expect(one.stdout).to.match(
      new RegExp(`^tenant ${h.apiKey}: 1 account\\(s\\), 1 metered, 0 not metered`, 'm'),
    );
    expect((await h.entry(subscriptionId))!.projectId).to.equal(moved);

    const all = await bridge(['registry', 'sync'], env);
    expect(all.code).to.equal(0);
    const accounts = (await h.store.accountIds(h.apiKey)).length;
    expect(all.stdout).to.match(
      new RegExp(`^tenant ${h.apiKey}: ${accounts} account\\(s\\), \\d+ metered, `, 'm'),
    );
    expect((await h.store.lastReconcile(h.apiKey))!.accounts).to.equal(accounts);
  });

  it('exits 1 with a one-line reason when Redis or Kill Bill cannot be reached', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const [noKillBill, noRedis, unknown] = await Promise.all([
      bridge(['registry', 'sync'], { ...env, KILLBILL_URL: closed }),
      bridge(['registry', 'show', '--json'], {
        ...env,
        REDIS_URL: `redis://:hunter2hunter2@127.0.0.1:${await freePort()}`,
      }),
      bridge(['registry', 'sync', '--account', '00000000-0000-4000-8000-000000000000'], env),
    ]);
    expect(noKillBill.code).to.equal(1);
    expect(noKillBill.stderr).to.match(
      new RegExp(`^bridge: Kill Bill at ${closed} is unreachable .*ECONNREFUSED.*\\n$`),
    );

    expect(noRedis.code).to.equal(1);
    expect(noRedis.stdout).to.equal('');
    expect(noRedis.stderr).to.match(
      /^bridge: Redis at redis:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ is unreachable \(.*ECONNREFUSED.*\)\n$/,
    );
    expect(noRedis.stderr).not.to.include('hunter2');

    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.equal(
      'bridge: no configured tenant knows account 00000000-0000-4000-8000-000000000000\n',
    );
  });
});
