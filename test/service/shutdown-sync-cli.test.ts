import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { USAGE_QUEUE } from '../../src/jobs/queue-names.js';
import type { UsageJobData } from '../../src/jobs/usage-jobs.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { RunningBridge } from '../support/bridge-cli.js';
import { seedRatedUsage } from '../support/cloudkitty.js';
import { startKillBill } from '../support/killbill-server.js';
import { usageWithLocalDates } from '../support/record-date-shim.js';
import { waitFor } from '../support/wait.js';
import { WorkerStack } from '../support/worker-stack.js';

const HOUR = 3_600_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const usagePosts = { method: 'POST', path: '/1.0/kb/usages' };

/**
 * SIGTERM while `bridge worker` is recording a subscription's usage: past server.shutdownTimeout it exits
 * non-zero naming the job, and the next worker finishes the sync with every window recorded once.
 */
describe('graceful shutdown during a usage sync (the real CLI, real Kill Bill)', function () {
  this.timeout(10 * 60_000);
  let stack: WorkerStack;
  const running: RunningBridge[] = [];

  before(async () => {
    stack = await WorkerStack.start();
    // The war served here is 0.22, which takes a usage recordDate as a date (see record-date-shim.ts).
    if ((await startKillBill()).version.startsWith('0.22.')) stack.proxy.rewriteBody = usageWithLocalDates;
  });
  after(async () => {
    for (const b of running.splice(0)) await b.stop();
    await stack?.close();
  });

  it('exits 1 naming the running usage job; the next worker records the rest, no window twice', async () => {
    const now = Date.now();
    const projectId = Math.random().toString(16).slice(2).padEnd(32, '0');
    const accountId = await stack.kb.createAccount({
      name: 'Sync Stop',
      currency: 'USD',
      externalKey: projectId,
    });
    await stack.kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: projectId },
      { name: FIELD.metrics, value: 'instance' },
    ]);
    const subscriptionId = await stack.kb.createSubscription(
      accountId,
      'openstack-standard-monthly',
      day(now - 2 * 24 * HOUR),
    );
    // Twelve closed hours (older than the 2-hour settle delay), each its own window and record.
    const first = Math.floor(now / HOUR) * HOUR - 16 * HOUR;
    const prices = Array.from({ length: 12 }, (_, h) => new Decimal(h * 7 + 3).div(1000));
    await seedRatedUsage(
      stack.cloudkitty.url,
      prices.map((p, h) => ({
        begin: new Date(first + h * HOUR),
        projectId,
        metric: 'instance',
        price: p.toString(),
      })),
    );
    const expected = prices
      .reduce((a, p) => a.plus(p), new Decimal(0))
      .times(100)
      .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
      .toNumber();
    // Kill Bill takes each usage record slowly, so the sync is still going when the signal comes.
    stack.proxy.beforeForward = async (req) => {
      if (req.method === 'POST' && req.path.startsWith(usagePosts.path))
        await new Promise((r) => setTimeout(r, 700));
    };
    const env = stack.env({
      BRIDGE_WORKER_HEALTH_PORT: '0',
      BRIDGE_SYNC_EVERY: '2s',
      BRIDGE_RECONCILE_EVERY: '2s',
      // Short so the second worker soon takes over, yet long enough that a loaded machine does not lose it.
      BRIDGE_LOCK_TTL: '5s',
    });
    const firstWorker = RunningBridge.start(['worker'], { ...env, BRIDGE_SHUTDOWN_TIMEOUT: '1s' });
    running.push(firstWorker);
    const usageQueue = stack.queue<UsageJobData>(USAGE_QUEUE);
    await waitFor(
      'the first worker has recorded part of the usage, and its subscription job is running',
      async () =>
        stack.proxy.seen(usagePosts).filter((r) => r.outcome === 201).length >= 2 &&
        (await usageQueue.getActive()).some((j) => j.name === 'subscription'),
      { timeoutMs: 120_000 },
    );
    await usageQueue.close();
    firstWorker.signal('SIGTERM');
    expect(await firstWorker.exited, firstWorker.stderr).to.equal(1);
    const [timeout] = firstWorker.logLines().filter((l) => l.event === 'process.stop_timeout');
    expect(String(timeout?.msg)).to.match(/still running: usage-sync job \S+ \(subscription\)/);
    const sentByFirst = stack.proxy.seen(usagePosts).length;
    expect(sentByFirst).to.be.below(prices.length);

    stack.proxy.beforeForward = undefined;
    const secondWorker = RunningBridge.start(['worker'], env);
    running.push(secondWorker);
    const held = async () => {
      const usage = await stack.kb.getUsage(subscriptionId, day(first - 24 * HOUR), day(now + 2 * 24 * HOUR));
      return Number(
        usage.rolledUpUnits?.find((u) => u.unitType === 'openstack-billed-instance')?.amount ?? 0,
      );
    };
    await waitFor('Kill Bill holds all of the usage', async () => (await held()) === expected, {
      timeoutMs: 120_000,
    });
    const taken = new Map<string, number>();
    for (const r of stack.proxy.seen(usagePosts).filter((p) => p.outcome === 201)) {
      const id = (JSON.parse(r.body) as { trackingId: string }).trackingId;
      taken.set(id, (taken.get(id) ?? 0) + 1);
    }
    expect(
      [...taken.values()].every((n) => n === 1),
      'no tracking id taken twice',
    ).to.equal(true);
    const sent = new Set(
      stack.proxy.seen(usagePosts).map((r) => (JSON.parse(r.body) as { trackingId: string }).trackingId),
    );
    expect(taken.size, 'every window sent was taken, once').to.equal(sent.size);
    expect(await secondWorker.stop()).to.equal(0);
    console.log(
      `      first worker sent ${sentByFirst} of ${prices.length} records before SIGTERM; ` +
        `Kill Bill holds ${expected}¢ = CloudKitty's total, each window once`,
    );
  });
});
