import { expect } from 'chai';
import { startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { startKillBill, type KillBillServer } from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import { FaultStack, syncDoc } from './fault-stack.js';

/**
 * Redis (AOF on, fsync always) SIGKILLed and restarted on the same port while Kill Bill pushes notifications
 * and a sync is run, against the REAL Kill Bill and CloudKitty: the intake answers 503 meanwhile, the sync exits
 * non-zero saying Redis is unreachable; after the restart Redis still holds what it had, Kill Bill's push
 * retries (1 s, 2 s, 4 s on the test server) bring the refused notifications back, and one sync records it all.
 */
describe('faults: Redis restarted mid-run (real Kill Bill)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  let stack: FaultStack;
  const cleanups: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(10 * 60_000);
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
    stack = await FaultStack.start(server, cloudkitty, cleanups, { appendOnly: true });
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  });

  it('intake 503s while Redis is down, Kill Bill’s retries bring the notifications back, the sync then records all', async function () {
    this.timeout(4 * 60_000);
    const early = await stack.addCustomers(1);
    await stack.waitMetered(early);
    const tenant = stack.tenant.apiKey;
    const before = await stack.intakeCounts();

    await stack.redis.stop();
    const during = await stack.sync();
    expect(during.code, 'a sync while Redis is down').to.not.equal(0);
    expect(during.stderr).to.match(/redis/i);
    expect(during.stdout, 'no summary claiming work was done').to.not.match(/"totals"/);
    // Two more customers made in Kill Bill while Redis is down: the intake cannot queue their notifications.
    // Redis comes back at the first 503: Kill Bill retries each refused notification only 3 times (1 s, 2 s, 4 s).
    const adding = stack.addCustomers(2);
    adding.catch(() => {});
    await waitFor(
      'the intake answered Kill Bill 503',
      async () => ((await stack.intakeCounts()).unavailable ?? 0) > (before.unavailable ?? 0),
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    await stack.redis.resume();
    // AOF: what Redis held before the SIGKILL is still there, without any registry rebuild.
    for (const c of early) {
      expect((await stack.runtime.registry.entry(tenant, c.subscriptionId))?.status).to.equal('metered');
    }
    const late = await adding;
    await stack.waitMetered(late);
    expect(
      await stack.runtime.registry.lastReconcile(tenant),
      'learnt from Kill Bill’s retried pushes, no registry rebuild ran (but the catalog upload’s)',
    ).to.deep.equal(stack.catalogRebuild);
    const counts = await stack.intakeCounts();

    await stack.seedDay(14, 5);
    const run = await stack.sync();
    expect(run.code, run.stderr.slice(-1500)).to.equal(0);
    const doc = syncDoc(run);
    expect(doc.totals.records).to.equal(stack.expectedRecords);
    const posts = stack.postOutcomes();
    expect(posts.created).to.equal(stack.expectedRecords);
    expect(new Set(posts.trackingIds).size).to.equal(posts.trackingIds.length);
    const figures = await stack.assertReconciled();
    const d = (k: string) => (counts[k] ?? 0) - (before[k] ?? 0);
    console.log(
      `      [KB ${server.version}] Redis SIGKILLed and restarted (AOF): notifications meanwhile and after: ` +
        `${d('queued')} accepted, ${d('unavailable')} answered 503 (retried by Kill Bill), ` +
        `${d('rejected') + d('unauthorized')} rejected; sync during the outage exit ${during.code}; after: ` +
        `${doc.totals.records} records for ${stack.customers.length} accounts, ${posts.created}×201 | ${figures}`,
    );
  });
});
