import { expect } from 'chai';
import { Queue } from 'bullmq';
import { Decimal } from 'decimal.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { USAGE_QUEUE } from '../../src/jobs/queue-names.js';
import type { UsageJobData } from '../../src/jobs/usage-jobs.js';
import { createBridgeRuntime } from '../../src/app/bridge-runtime.js';
import { WorkerService } from '../../src/app/worker-service.js';
import { MeteringStack, PREFIX } from '../support/metering-stack.js';
import { seedRatedUsage, seededCloudKittyEnv } from '../support/cloudkitty.js';
import { testConfig } from '../support/bridge-config.js';
import { waitFor } from '../support/wait.js';

const HOUR = 3_600_000;
const PROJECTS = ['1111aaaa2222bbbb3333cccc4444dddd', '5555eeee6666ffff7777aaaa8888bbbb'];

describe('usage sync as BullMQ jobs: scheduled tick, one pull, one job per subscription', function () {
  this.timeout(120_000);
  let stack: MeteringStack;

  before(async function () {
    this.timeout(10 * 60_000); // the shared Kill Bill may have to start first
    stack = await MeteringStack.start();
  });
  after(async () => {
    await stack?.close();
  });

  it('records every subscription through the worker, exactly', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - 27 * HOUR;
    const usage: RatedUsage[] = [];
    const totals = PROJECTS.map(() => new Decimal(0));
    for (let h = 0; h < 24; h++) {
      PROJECTS.forEach((projectId, i) => {
        const price = new Decimal(h + 7 * i + 1).div(800);
        totals[i] = totals[i]!.plus(price);
        usage.push({
          begin: new Date(start + h * HOUR),
          projectId,
          metric: 'instance',
          price: price.toString(),
        });
      });
    }
    await stack.cloudkitty.reset();
    await seedRatedUsage(stack.cloudkitty.url, usage);
    const day = new Date(start - 24 * HOUR).toISOString().slice(0, 10);
    const subs: string[] = [];
    for (const [i, p] of PROJECTS.entries())
      subs.push((await stack.meteredAccount(`w${i}`, p, day, 'instance')).subscriptionId);
    await stack.reconcile();

    const config = testConfig({
      ...stack.env(),
      ...seededCloudKittyEnv(stack.cloudkitty.url),
      BRIDGE_SYNC_EVERY: '1h',
    });
    expect(config.redis.prefix).to.equal(PREFIX);
    const runtime = createBridgeRuntime(config, silentLogger);
    const workers = new WorkerService(runtime);
    await workers.start();
    const queue = new Queue<UsageJobData>(USAGE_QUEUE, {
      connection: { url: stack.redisServer.url },
      prefix: PREFIX,
    });
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).to.deep.equal(['usage-sync:new', 'usage-sync:recheck']);
      const range = stack.usageDays(start - 24 * HOUR, start + 48 * HOUR);
      const recorded = async (sub: string) =>
        Number((await stack.kb.getUsage(sub, ...range)).rolledUpUnits?.[0]?.amount ?? 0);
      const expected = totals.map((t) => t.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber());
      // The scheduler's first tick runs at once. Kill Bill holds the usage before the job that sent it
      // has confirmed its ledger and moved to completed, so wait for both conditions, not the first.
      const completedSubscriptions = async () =>
        (await queue.getJobs(['completed'])).filter((j) => j.name === 'subscription');
      await waitFor(
        'both subscriptions are recorded by the worker and their jobs completed',
        async () => {
          const got = await Promise.all(subs.map(recorded));
          if (got[0] !== expected[0] || got[1] !== expected[1]) return false;
          const done = new Set(
            (await completedSubscriptions()).map((j) =>
              j.data.kind === 'subscription' ? j.data.subscriptionId : '',
            ),
          );
          return subs.every((s) => done.has(s));
        },
        { timeoutMs: 90_000 },
      );
      expect(await queue.getJobCounts('failed')).to.deep.equal({ failed: 0 });
    } finally {
      await queue.close();
      await workers.stop();
      await runtime.close();
    }
  });
});
