import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from '../src/logging/logger.js';
import type { RedisClient } from '../src/jobs/redis-connection.js';
import { isNetworkError } from '../src/app/unreachable.js';
import { USAGE_QUEUE } from '../src/jobs/queue-names.js';
import { USAGE_JOB_OPTIONS, type UsageJobData } from '../src/jobs/usage-jobs.js';
import { projectKey, type RatedRow } from '../src/sync/rated-usage-pull.js';
import { countIdle } from '../src/sync/idle-reasons.js';
import type { UsageSync } from '../src/sync/usage-sync.js';
import { isMetered } from '../src/sync/metered-entry.js';
import { RegistrySnapshots } from '../src/registry/registry-snapshots.js';
import type { RegistryStore } from '../src/registry/registry-store.js';
import { failureFields, jobFailure } from './job-failure.js';

export interface UsageWorkerOptions {
  connection: RedisClient;
  prefix: string;
  usageSync: UsageSync;
  registry: RegistryStore;
  logger: Logger;
  /** Subscriptions synced at once by this process. */
  concurrency: number;
}

/** How long a run's pulled usage stays in Redis for its subscription jobs (and their retries). */
const RUN_TTL_S = 6 * 3600;
/** A project's value in a run when its rows could not be attributed then (Heat failed): each job pulls it again. */
const PULL_AGAIN = 'pull-again';

/** What a usage job's handlers share. */
interface UsageJobContext extends UsageWorkerOptions {
  queue: Queue<UsageJobData>;
  snapshots: RegistrySnapshots;
  /** The Redis hash a run's pulled rows are kept in, by project. */
  runKey: (run: string) => string;
}

/**
 * The usage sync as BullMQ jobs: a scheduled tick pulls CloudKitty once and stores the rows by project,
 * then one job per subscription records its windows, each with its own retries and backoff.
 */
export function createUsageWorker(options: UsageWorkerOptions): {
  worker: Worker<UsageJobData>;
  queue: Queue<UsageJobData>;
} {
  const { connection, prefix, registry } = options;
  const queue = new Queue<UsageJobData>(USAGE_QUEUE, { connection, prefix });
  const ctx: UsageJobContext = {
    ...options,
    queue,
    snapshots: new RegistrySnapshots(registry),
    runKey: (run) => `${prefix}:usage-run:${run}`,
  };
  const worker = new Worker<UsageJobData>(
    USAGE_QUEUE,
    async (job) => (job.data.kind === 'tick' ? tick(ctx, job, job.data.mode) : subscription(ctx, job.data)),
    { connection, prefix, concurrency: options.concurrency },
  );
  logFailures(worker, options.logger);
  return { worker, queue };
}

/** Pulls CloudKitty once for the run, keeps its rows for the jobs, and queues one job per due subscription. */
async function tick(ctx: UsageJobContext, job: Job<UsageJobData>, mode: 'new' | 'recheck') {
  const { connection, usageSync, logger, queue, runKey } = ctx;
  const prepared = await usageSync.prepare({ mode });
  const run = `${job.id ?? Date.now()}`;
  const idle = countIdle(prepared.idle);
  if (prepared.idle.length > 0) {
    logger.info(
      { event: 'sync.idle', mode, due: prepared.targets.length, idle },
      `${prepared.idle.length} of ${prepared.metered + (idle.conflict ?? 0)} subscription(s) have nothing due`,
    );
  }
  if (prepared.targets.length === 0) {
    await usageSync.tickQueued(prepared);
    return { subscriptions: 0, idle };
  }
  const fields = [...prepared.usage].flatMap(([project, rows]) => [project, JSON.stringify(rows)]);
  for (const project of prepared.unattributable.keys()) fields.push(project, PULL_AGAIN);
  const pipeline = connection.multi().hset(runKey(run), '__run', prepared.now.toISOString());
  if (fields.length) pipeline.hset(runKey(run), ...fields);
  await pipeline.expire(runKey(run), RUN_TTL_S).exec();
  await queue.addBulk(
    prepared.targets.map((t) => ({
      name: 'subscription',
      data: {
        kind: 'subscription' as const,
        run,
        tenantApiKey: t.entry.tenantApiKey,
        subscriptionId: t.entry.subscriptionId,
        from: t.from.toISOString(),
        to: t.to.toISOString(),
        now: prepared.now.toISOString(),
      },
      // One pending job per subscription: a later tick finds the work the waiting one will do.
      opts: {
        ...USAGE_JOB_OPTIONS,
        deduplication: { id: `sub:${t.entry.tenantApiKey}:${t.entry.subscriptionId}` },
      },
    })),
  );
  await usageSync.tickQueued(prepared);
  return { subscriptions: prepared.targets.length, idle };
}

/** Records one subscription's windows of a run, on the rows the tick kept (or pulled again). */
async function subscription(ctx: UsageJobContext, data: Extract<UsageJobData, { kind: 'subscription' }>) {
  const { connection, usageSync, runKey } = ctx;
  const entry = await ctx.snapshots.entry(data.tenantApiKey, data.run, data.subscriptionId);
  if (!entry || !isMetered(entry)) {
    await usageSync.subscriptionDone(data.tenantApiKey, data.subscriptionId);
    return { skipped: `no longer metered (${entry?.status ?? 'unknown'})` };
  }
  const from = new Date(data.from);
  const to = new Date(data.to);
  const stored = await connection.hget(runKey(data.run), projectKey(entry.projectId));
  const runExists = stored !== null || (await connection.exists(runKey(data.run))) === 1;
  // The run's rows expired (a long outage), or could not be attributed then: pull this one project again
  // rather than fail; while they still cannot be, the job fails and BullMQ retries it with backoff.
  const rows: RatedRow[] =
    runExists && stored !== PULL_AGAIN
      ? (JSON.parse(stored ?? '[]') as RatedRow[])
      : await usageSync.pullProject(entry, from, to);
  try {
    const result = await usageSync.subscriptionSync.run({ entry, from, to }, rows, new Date(data.now));
    await usageSync.subscriptionDone(data.tenantApiKey, data.subscriptionId);
    return result;
  } catch (err) {
    // What a retry cannot fix (a request Kill Bill refuses) fails at once and stays in the failed set.
    throw jobFailure(err);
  }
}

function logFailures(worker: Worker<UsageJobData>, logger: Logger): void {
  worker.on('failed', (job, err) => {
    const final = !job || err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    // A service not answering is said once by the dependency watch, not once per job and attempt.
    logger[final ? 'error' : isNetworkError(err) ? 'debug' : 'warn'](
      {
        event: final ? 'sync.job_failed' : 'sync.job_retry',
        jobId: job?.id,
        data: job?.data,
        attempts: job?.attemptsMade,
        ...failureFields(err),
      },
      final ? 'usage job failed; kept in the failed set' : 'usage job failed; will retry with backoff',
    );
  });
  worker.on('error', (err) =>
    logger[isNetworkError(err) ? 'debug' : 'warn'](
      { event: 'sync.worker_error', err: err.message },
      'usage worker error',
    ),
  );
}

/** The two repeatable runs; upserting by id makes this safe from every worker process. */
export async function scheduleUsageSync(
  queue: Queue<UsageJobData>,
  syncEveryMs: number,
  recheckEveryMs: number,
) {
  await queue.upsertJobScheduler(
    'usage-sync:new',
    { every: syncEveryMs },
    {
      name: 'tick',
      data: { kind: 'tick', mode: 'new' },
      opts: USAGE_JOB_OPTIONS,
    },
  );
  await queue.upsertJobScheduler(
    'usage-sync:recheck',
    { every: recheckEveryMs },
    {
      name: 'tick',
      data: { kind: 'tick', mode: 'recheck' },
      opts: USAGE_JOB_OPTIONS,
    },
  );
}
