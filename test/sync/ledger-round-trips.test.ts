import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { seedRatedUsage } from '../support/cloudkitty.js';
import { MeteringStack } from '../support/metering-stack.js';
import { dayOf, HOUR, newProjectId } from '../support/metered-tenant.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { readsProcessed } from '../support/redis-server.js';

const SUBSCRIPTIONS = 24;
const UNITS = ['openstack-billed-instance', 'openstack-billed-vcpus'];

/**
 * A sync's subscriptions side by side share their ledger's round trips to Redis (src/record/ledger-batch.ts):
 * locks and reads of the runs that start together go in one write, their pending windows in the next, and
 * confirmations wait a little to go together. One at a time each subscription would cost three writes. Real
 * Kill Bill, CloudKitty and Redis.
 */
describe('usage sync: subscriptions side by side share round trips to Redis', function () {
  this.timeout(180_000);
  let stack: MeteringStack;
  let observer: Redis;
  const hour = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
  const projects = Array.from({ length: SUBSCRIPTIONS }, newProjectId);
  const subscriptionIds: string[] = [];

  before(async function () {
    this.timeout(10 * 60_000); // the shared Kill Bill may have to start first
    stack = await MeteringStack.start();
    observer = stack.redisServer.client();
    const usage: RatedUsage[] = projects.flatMap((projectId, i) => [
      { begin: new Date(hour), projectId, metric: 'instance', price: `0.0${(i % 9) + 1}` },
      { begin: new Date(hour), projectId, metric: 'vcpus', price: '0.02' },
    ]);
    await stack.cloudkitty.reset();
    await seedRatedUsage(stack.cloudkitty.url, usage);
    for (const [i, projectId] of projects.entries()) {
      const account = await stack.meteredAccount(`trips${i}`, projectId, dayOf(hour - 24 * HOUR));
      subscriptionIds.push(account.subscriptionId);
    }
    await stack.reconcile();
  });
  after(async () => {
    observer?.disconnect();
    await stack?.close();
  });

  it(`records ${SUBSCRIPTIONS} subscriptions at 16 Kill Bill calls at once in fewer than 2.5 writes each`, async () => {
    const sync = stack.usageSync();
    const before = await readsProcessed(observer);
    const results = await sync.runOnce({ mode: 'new', now: new Date() }, 16);
    const reads = (await readsProcessed(observer)) - before;

    expect(results.map((r) => r.error).filter(Boolean)).to.deep.equal([]);
    expect(
      results.reduce((n, r) => n + r.records, 0),
      'one record a subscription',
    ).to.equal(SUBSCRIPTIONS);
    // One at a time, each subscription's three ledger calls are 3 × 24 = 72 writes, plus the run's reads of the
    // registry and the watermarks. Batched, the first 16 runs lock and read in one write and save in the next;
    // even a Kill Bill slow enough that each confirmation goes alone, and each later run's lock and save
    // too, stays near 50.
    expect(reads, `reads Redis processed for ${SUBSCRIPTIONS} subscriptions`).to.be.below(
      2.5 * SUBSCRIPTIONS,
    );
    for (const [i, subscriptionId] of subscriptionIds.entries()) {
      const from = dayOf(hour - 24 * HOUR);
      const cents = [];
      for (const unit of UNITS) cents.push(await stack.tenant.recordedCents(subscriptionId, from, unit));
      expect(cents, `subscription ${i}: instance, vcpus`).to.deep.equal([(i % 9) + 1, 2]);
    }
  });
});
