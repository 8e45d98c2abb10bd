import { expect } from 'chai';
import { RunningBridge } from '../support/bridge-cli.js';
import { startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { startKillBill, type KillBillServer } from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import { FaultStack, USAGE_POSTS, syncDoc } from './fault-stack.js';

/** Accounts per scenario: all three metric sets, one subscription each, all synced at once. */
const ACCOUNTS = 3;
const isUsagePost = (r: { method: string; path: string }) =>
  r.method === 'POST' && r.path.startsWith(USAGE_POSTS.path);

/** A gate the proxy holds usage POSTs at: `open()` lets every held and later one through. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/**
 * `bridge sync` processes that die or race, against the REAL Kill Bill and CloudKitty, 3 accounts, both units,
 * a day of hourly windows: a run SIGKILLed with records in flight and work left, restarted at once, finishes
 * the work (taking over the dead run's locks once their short TTL lapses) and Kill Bill holds each window once;
 * two runs started together on one Redis record each window once between them.
 */
describe('faults: bridge sync SIGKILLed mid-run, and two syncs at once (real Kill Bill)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  const cleanups: Array<() => Promise<void>> = [];
  const running: RunningBridge[] = [];

  before(async function () {
    this.timeout(10 * 60_000);
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
  });

  after(async function () {
    this.timeout(120_000);
    for (const r of running) r.signal('SIGKILL');
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  });

  it('a sync SIGKILLed mid-run is finished by the run restarted at once: each window once, none lost', async function () {
    this.timeout(4 * 60_000);
    const stack = await FaultStack.start(server, cloudkitty, cleanups);
    await stack.waitMetered(await stack.addCustomers(ACCOUNTS));
    await stack.seedDay(12, 3);
    const PASSED = 10;
    const g = gate();
    let posts = 0;
    const held: Array<{ outcome: unknown }> = [];
    stack.kbProxy.beforeForward = async (req) => {
      if (!isUsagePost(req) || ++posts <= PASSED) return;
      held.push(req);
      await g.opened;
    };
    const env = { BRIDGE_LOCK_TTL: '3s' };
    const first = RunningBridge.start(['sync', '--once', '--json'], stack.env(env));
    running.push(first);
    // Every subscription in flight (all of them) has a record at Kill Bill's door when the process dies.
    await waitFor(`the first run has ${ACCOUNTS} records in flight`, () => held.length === ACCOUNTS, {
      timeoutMs: 120_000,
    });
    first.signal('SIGKILL');
    const code = await first.exited;
    expect(code, 'killed, not exited').to.equal(null);
    expect(first.stdout, 'the killed run printed no summary').to.not.match(/"totals"/);
    const redis = stack.redis.client();
    const locks = await redis.keys('osb:lock:*');
    redis.disconnect();
    expect(locks, 'the dead run still holds its subscriptions’ locks').to.have.length(ACCOUNTS);
    // What it had sent lands in Kill Bill after its death: the pending records the restart must not duplicate.
    g.open();
    await waitFor('Kill Bill took the dead run’s in-flight records', () =>
      held.every((r) => r.outcome === 201),
    );

    const t0 = Date.now();
    const restart = await stack.sync(env);
    expect(restart.code, restart.stderr.slice(-1500)).to.equal(0);
    const doc = syncDoc(restart);
    expect(doc.totals.failed).to.equal(0);
    expect(doc.totals.alreadyRecorded, 'the dead run’s in-flight records, resent as they were').to.equal(
      ACCOUNTS,
    );
    expect(doc.totals.records, 'the rest of the work').to.equal(stack.expectedRecords - PASSED - ACCOUNTS);
    const outcomes = stack.postOutcomes();
    expect(outcomes.created, 'records Kill Bill took').to.equal(stack.expectedRecords);
    expect(new Set(outcomes.trackingIds).size).to.equal(outcomes.trackingIds.length);
    expect(outcomes.already).to.equal(ACCOUNTS);
    const figures = await stack.assertReconciled();
    console.log(
      `      [KB ${server.version}] ${ACCOUNTS} accounts, ${stack.expectedRecords} windows: SIGKILL after ${PASSED} records ` +
        `with ${ACCOUNTS} in flight and ${ACCOUNTS} locks held; restart (lock TTL 3 s) exit 0 in ${((Date.now() - t0) / 1000).toFixed(1)} s: ` +
        `${doc.totals.records} sent + ${doc.totals.alreadyRecorded} already recorded | Kill Bill took ` +
        `${outcomes.created}×201, ${outcomes.already}×"already recorded" | ${figures}`,
    );
  });

  it('two bridge syncs at once on one Redis: each window recorded once between them', async function () {
    this.timeout(4 * 60_000);
    const stack = await FaultStack.start(server, cloudkitty, cleanups);
    await stack.waitMetered(await stack.addCustomers(ACCOUNTS));
    await stack.seedDay(13, 9);
    // Usage POSTs wait until both runs have pulled CloudKitty: both plan every subscription, then race.
    const g = gate();
    stack.kbProxy.beforeForward = async (req) => {
      if (isUsagePost(req)) await g.opened;
    };
    const a = RunningBridge.start(['sync', '--once', '--json'], stack.env());
    const b = RunningBridge.start(['sync', '--once', '--json'], stack.env());
    running.push(a, b);
    await waitFor(
      'both runs pulled CloudKitty',
      () => a.said(/pulled rated usage/).length > 0 && b.said(/pulled rated usage/).length > 0,
      { timeoutMs: 120_000, intervalMs: 100 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nA: ${a.stderr.slice(-1500)}\nB: ${b.stderr.slice(-1500)}`);
    });
    g.open();
    const codes = [await a.exited, await b.exited];
    const [da, db] = [syncDoc(a), syncDoc(b)];
    // A run that waited a whole lock TTL for the other may give up on a subscription: then it exits 1 saying
    // so (another sync held its lock), never 0 with work left; any other failure fails the test.
    for (const [code, doc] of [
      [codes[0], da],
      [codes[1], db],
    ] as const) {
      const errors = doc.results.flatMap((r) => (r.error ? [r.error] : []));
      expect(code, errors.join(' | ')).to.equal(errors.length === 0 ? 0 : 1);
      for (const e of errors) expect(e).to.match(/another sync of subscription \S+ held its lock/);
    }
    const finished = new Set(
      [...da.results, ...db.results].filter((r) => !r.error).map((r) => r.subscriptionId),
    );
    expect(finished.size, 'every subscription finished by one run or the other').to.equal(ACCOUNTS);
    expect([da.synced, db.synced], 'both runs synced every subscription').to.deep.equal([ACCOUNTS, ACCOUNTS]);
    const sent = da.totals.records + db.totals.records;
    const already = da.totals.alreadyRecorded + db.totals.alreadyRecorded;
    const outcomes = stack.postOutcomes();
    expect(outcomes.created, 'records Kill Bill took').to.equal(stack.expectedRecords);
    expect(new Set(outcomes.trackingIds).size).to.equal(outcomes.trackingIds.length);
    expect(sent, 'records the two runs say they sent').to.equal(outcomes.created);
    expect(already).to.equal(outcomes.already);
    const figures = await stack.assertReconciled();
    console.log(
      `      [KB ${server.version}] two syncs at once, ${stack.expectedRecords} windows: run A exit ${codes[0]}, ${da.totals.records} sent, ` +
        `run B exit ${codes[1]}, ${db.totals.records} sent, ${already} already recorded | Kill Bill took ${outcomes.created}×201, ` +
        `${outcomes.already}×"already recorded" | ${figures}`,
    );
  });
});
