import { expect } from 'chai';
import { Queue } from 'bullmq';
import { silentLogger } from '../../src/logging/logger.js';
import { USAGE_QUEUE } from '../../src/jobs/queue-names.js';
import type { UsageJobData } from '../../src/jobs/usage-jobs.js';
import { createRedisConnection } from '../../src/jobs/redis-connection.js';
import { createUsageWorker } from '../../workers/usage-worker.js';
import { seedRatedUsage, startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { startKillBill, type KillBillServer } from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import { day, kbGet, seedScenario, setUpTenant } from './real-killbill-stack.js';

const usagePosts = { method: 'POST', path: '/1.0/kb/usages' };

/**
 * What a run says about a failure must be what happened in Kill Bill: a run that failed part way reports
 * the records Kill Bill took before it failed, and a request Kill Bill refuses is not retried for hours.
 */
describe('real Kill Bill: failures are reported as they happened', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  const cleanups: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(10 * 60_000);
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
  });
  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  });

  async function setUp(month: Date) {
    let proxy: FaultProxy | undefined;
    const env = await setUpTenant(server, cloudkitty.url, month, cleanups, async (url) => {
      const p = (proxy = await FaultProxy.start(url));
      cleanups.push(() => p.close());
      return p.url;
    });
    await seedRatedUsage(cloudkitty.url, seedScenario(month, env.list, 5, [10, 20, 30]));
    return { ...env, proxy: proxy! };
  }

  it('a run that fails part way counts the records Kill Bill took before it failed', async function () {
    this.timeout(5 * 60_000);
    const month = new Date('2025-06-01T00:00:00Z');
    const next = new Date('2025-07-01T00:00:00Z');
    const env = await setUp(month);
    // Kill Bill takes the first 20 records, then answers 500 to every one after.
    let passed = 0;
    env.proxy.beforeForward = async (req) => {
      if (req.method === 'POST' && req.path.startsWith(usagePosts.path) && ++passed === 21)
        env.proxy.failAll({ kind: 'status', status: 500 }, usagePosts);
    };
    const results = await env.stack.sync(month, next);
    const taken = env.proxy.seen(usagePosts).filter((r) => r.outcome === 201).length;
    expect(taken).to.equal(20);
    expect(results.filter((r) => r.error)).to.have.length.greaterThan(0);
    expect(
      results.reduce((s, r) => s + r.records, 0),
      'records the summary reports',
    ).to.equal(taken);
    let held = 0;
    for (const c of env.list) {
      const rolled = await kbGet<{ rolledUpUnits: Array<{ amount: number }> }>(
        env.tenant,
        `/1.0/kb/usages/${c.subscriptionId}?startDate=${day(month)}&endDate=${day(next)}`,
      );
      held += rolled.rolledUpUnits.length > 0 ? 1 : 0;
    }
    expect(held, 'subscriptions Kill Bill holds usage for').to.be.greaterThan(0);
    console.log(
      `      [KB ${server.version}] failed part way: ${taken} records taken, summary says the same`,
    );
  });

  it('a usage record Kill Bill refuses (400) fails its job at once and keeps it inspectable', async function () {
    this.timeout(5 * 60_000);
    const month = new Date('2025-08-01T00:00:00Z');
    const next = new Date('2025-09-01T00:00:00Z');
    const env = await setUp(month);
    env.proxy.failAll({ kind: 'status', status: 400 }, usagePosts);
    const { config, runtime } = env.stack;
    const connection = createRedisConnection(config.redis.url, 'worker');
    const { worker, queue: workerQueue } = createUsageWorker({
      connection,
      prefix: config.redis.prefix,
      usageSync: runtime.usageSync,
      registry: runtime.registry,
      logger: silentLogger,
      concurrency: 1,
    });
    const queue = new Queue<UsageJobData>(USAGE_QUEUE, { connection, prefix: config.redis.prefix });
    cleanups.push(async () => {
      await worker.close();
      await workerQueue.close();
      await queue.close();
      connection.disconnect();
    });
    const sub = env.list[0]!.subscriptionId;
    const job = await queue.add('subscription', {
      kind: 'subscription',
      run: 'no-such-run',
      tenantApiKey: config.killbill.apiKey,
      subscriptionId: sub,
      from: month.toISOString(),
      to: next.toISOString(),
      now: new Date(next.getTime() + 86_400_000).toISOString(),
    });
    const failed = await waitFor(
      'the job is in the failed set',
      async () => ((await queue.getJob(job.id!))?.finishedOn ? await queue.getJob(job.id!) : undefined),
      { timeoutMs: 60_000 },
    );
    expect(await failed.getState()).to.equal('failed');
    expect(failed.attemptsMade, 'attempts: a refusal is not retried').to.equal(1);
    expect(failed.failedReason).to.match(/400/);
    expect(env.proxy.seen(usagePosts)).to.have.length(1);
  });
});
