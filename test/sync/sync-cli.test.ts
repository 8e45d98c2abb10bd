import { expect } from 'chai';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import type { SubscriptionLock } from '../../src/record/usage-ledger.js';
import { runBridge, type CliRun } from '../support/bridge-cli.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { seedRatedUsage, seededCloudKittyEnv } from '../support/cloudkitty.js';
import { MeteringStack } from '../support/metering-stack.js';
import { freePort } from '../support/wait.js';

const HOUR = 3_600_000;
const WITH_USAGE = '5eed0000aaaa1111bbbb2222cccc3333';
const WITHOUT_USAGE = '5eed0000dddd4444eeee5555ffff6666';
const SHARED = '5eed00007777888899990000aaaabbbb';
const BUSY = '5eed0000ccccddddeeeeffff00001111';

interface SyncJson {
  metered: number;
  synced: number;
  totals: Record<string, number>;
  results: Array<{ subscriptionId: string; records: number; error?: string }>;
  idle: Record<string, { count: number; at?: string; subscriptions: Array<{ subscriptionId: string }> }>;
}

const idsOf = (doc: SyncJson, reason: string) =>
  (doc.idle[reason]?.subscriptions ?? []).map((s) => s.subscriptionId).sort();

/** Every stderr line is a JSON log line or a `bridge:` message: nothing else, and no log on stdout. */
function logLines(run: CliRun): Array<Record<string, unknown>> {
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('{'));
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('bridge sync (the real CLI): one JSON document, logs on stderr, why nothing was recorded', function () {
  this.timeout(180_000);
  let stack: MeteringStack;
  let env: Record<string, string>;
  let subs: Record<'used' | 'unused' | 'left' | 'right' | 'busy', string>;
  let busyLock: SubscriptionLock;
  const seedStart = Math.floor(Date.now() / HOUR) * HOUR - 27 * HOUR;

  before(async function () {
    this.timeout(10 * 60_000); // the shared Kill Bill may have to start first
    stack = await MeteringStack.start();
    await stack.cloudkitty.reset();
    const usage: RatedUsage[] = [];
    for (let h = 0; h < 24; h++) {
      const begin = new Date(seedStart + h * HOUR);
      usage.push({ begin, projectId: WITH_USAGE, metric: 'instance', price: '0.125' });
      usage.push({ begin, projectId: BUSY, metric: 'instance', price: '0.5' });
    }
    await seedRatedUsage(stack.cloudkitty.url, usage);
    const day = new Date(seedStart - 24 * HOUR).toISOString().slice(0, 10);
    const sub = async (name: string, project: string) =>
      (await stack.meteredAccount(name, project, day, 'instance')).subscriptionId;
    subs = {
      used: await sub('used', WITH_USAGE),
      unused: await sub('unused', WITHOUT_USAGE),
      left: await sub('left', SHARED),
      right: await sub('right', SHARED),
      busy: await sub('busy', BUSY),
    };
    await stack.reconcile();
    // Another sync holds this one for the whole suite: a run waits one lock TTL for it, then fails it.
    busyLock = (await stack.ledger.lock(stack.apiKey, subs.busy, 600_000))!;
    env = {
      ...stack.env(),
      ...seededCloudKittyEnv(stack.cloudkitty.url),
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
      LOG_LEVEL: 'info',
      BRIDGE_LOCK_TTL: '2s',
    };
  });
  after(async () => {
    await busyLock?.release();
    await stack?.close();
  });

  it('--once --json: exactly one JSON document on stdout, with the idle subscriptions and why', async () => {
    const run = await runBridge(['sync', '--once', '--json'], env);
    // The held subscription is work left undone: never "0 sent, exit 0".
    expect(run.code, run.stderr).to.equal(1);
    const doc = JSON.parse(run.stdout) as SyncJson;
    expect(doc.metered).to.equal(3);
    expect(doc.synced).to.equal(3);
    expect(doc.totals).to.deep.include({ failed: 1, corrections: 0 });
    expect(doc.totals.records).to.equal(24);
    expect(idsOf(doc, 'conflict')).to.deep.equal([subs.left, subs.right].sort());
    expect(idsOf(doc, 'noUsage')).to.deep.equal([subs.unused]);
    expect(Object.keys(doc.idle)).to.deep.equal(['conflict', 'noUsage']);
    const busy = doc.results.find((r) => r.subscriptionId === subs.busy);
    expect(busy?.error).to.match(/another sync of subscription .* held its lock/);

    // The logs went to stderr, as JSON lines, and progress too: stdout held nothing else.
    const events = logLines(run).map((l) => l.event);
    expect(events).to.include('sync.pulled').and.include('sync.usage_recorded');
    expect(run.stderr).to.match(/^syncing: 3\/3/m);
  });

  it('a second run says, one line per reason with counts, why nothing was recorded', async () => {
    const before = Date.now();
    const run = await runBridge(['sync', '--once'], env);
    expect(run.code, run.stderr).to.equal(1);
    // When the next window closes: the hour after the last closed one, plus the 2-hour settle delay.
    const closes = (t: number) =>
      new Date(Math.floor((t - 2 * HOUR) / HOUR) * HOUR + 3 * HOUR).toISOString().slice(0, 16) + 'Z';
    const lines = run.stdout.split('\n').filter((l) => !l.startsWith('syncing:'));
    expect(lines[0]).to.equal(
      '3 metered subscription(s), 1 synced: 0 record(s) sent, 0 correction(s), 0 already recorded, ' +
        '0 late difference(s) reported, 1 failed',
    );
    expect(lines.slice(1, 3)).to.deep.equal([
      'nothing recorded for 4:',
      '  2 subscription(s) in conflict, not metered until fixed (see `bridge registry show`)',
    ]);
    expect([before, Date.now()].map(closes)).to.include(
      /^ {2}2 subscription\(s\) with no closed window yet \(next window closes at (.*)\)$/.exec(
        lines[3]!,
      )?.[1],
    );
    expect(lines.slice(4)).to.deep.equal(['']);
    expect(logLines(run).length).to.be.greaterThan(0);
  });

  it('--from/--to --json: a backfill range, still one JSON document', async () => {
    const from = new Date(seedStart).toISOString().slice(0, 10);
    const to = new Date(seedStart + 48 * HOUR).toISOString().slice(0, 10);
    const run = await runBridge(['sync', '--from', from, '--to', to, '--json'], env);
    expect(run.code, run.stderr).to.equal(1);
    const doc = JSON.parse(run.stdout) as SyncJson;
    expect(doc.totals.records).to.equal(0);
    // Re-checked: what CloudKitty rated is recorded already, to the cent.
    expect(idsOf(doc, 'noNewCent')).to.deep.equal([subs.used]);
    expect(idsOf(doc, 'noUsage')).to.deep.equal([subs.unused]);
    expect(doc.results.find((r) => r.subscriptionId === subs.busy)?.error).to.match(/held its lock/);
  });

  it('names the service and URL it cannot reach, without the password, and exits 1', async () => {
    const [redisPort, ckPort] = [await freePort(), await freePort()];
    const [noRedis, noCloudKitty] = await Promise.all([
      runBridge(['sync', '--once', '--json'], {
        ...env,
        REDIS_URL: `redis://:hunter2hunter2@127.0.0.1:${redisPort}`,
      }),
      runBridge(['sync', '--once', '--json'], { ...env, CLOUDKITTY_URL: `http://127.0.0.1:${ckPort}` }),
    ]);
    expect(noRedis.code).to.equal(1);
    expect(noRedis.stdout).to.equal('');
    expect(noRedis.stderr).to.match(
      new RegExp(
        `^bridge: Redis at redis://:\\*\\*\\*\\*@127\\.0\\.0\\.1:${redisPort} is unreachable \\(connect ECONNREFUSED\\)\\n$`,
        'm',
      ),
    );
    expect(noRedis.stderr).not.to.include('hunter2');

    expect(noCloudKitty.code).to.equal(1);
    expect(noCloudKitty.stdout).to.equal('');
    expect(noCloudKitty.stderr).to.include(
      `bridge: sync failed, nothing more was recorded: CloudKitty at http://127.0.0.1:${ckPort} is unreachable (ECONNREFUSED)\n`,
    );
    const down = logLines(noCloudKitty).filter((l) => l.event === 'dependency.down');
    expect(down.map((l) => l.msg)).to.deep.equal([
      `CloudKitty at http://127.0.0.1:${ckPort} is unreachable (ECONNREFUSED); retrying a few times, then giving up`,
    ]);
  });
});
