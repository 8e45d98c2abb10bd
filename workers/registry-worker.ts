import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Logger } from '../src/logging/logger.js';
import type { RedisClient } from '../src/jobs/redis-connection.js';
import { isNetworkError } from '../src/app/unreachable.js';
import { REGISTRY_QUEUE } from '../src/jobs/queue-names.js';
import { REGISTRY_JOB_NAMES, REGISTRY_JOB_OPTIONS, type RegistryJobData } from '../src/jobs/registry-jobs.js';
import type { AccountRegistrar } from '../src/registry/account-registrar.js';
import { failureFields, jobFailure } from './job-failure.js';

export interface RegistryWorkerOptions {
  connection: RedisClient;
  prefix: string;
  registrar: AccountRegistrar;
  logger: Logger;
  /** Jobs run at once by this process. Default 4. */
  concurrency?: number;
}

/**
 * Takes the intake's account, subscription and custom-field jobs, and the reconciles. An error that a retry
 * cannot fix (a Kill Bill 4xx other than 404, a tenant no longer configured) fails the job at once; the rest
 * back off and retry.
 */
export function createRegistryWorker(options: RegistryWorkerOptions): Worker<RegistryJobData> {
  const { registrar, logger } = options;
  const worker = new Worker<RegistryJobData>(
    REGISTRY_QUEUE,
    async (job: Job<RegistryJobData>) => {
      const data = job.data;
      try {
        if (data.kind === 'reconcile') return await registrar.reconcileTenant(data.tenantApiKey);
        const r = await registrar.refreshAccount(data.tenantApiKey, data.accountId);
        return { subscriptions: r.entries.length, problems: r.problems.length };
      } catch (err) {
        throw jobFailure(err);
      }
    },
    { connection: options.connection, prefix: options.prefix, concurrency: options.concurrency ?? 4 },
  );
  worker.on('failed', (job, err) => {
    const final = job
      ? job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError
      : true;
    // A service not answering is said once by the dependency watch, not once per job and attempt.
    logger[final ? 'error' : isNetworkError(err) ? 'debug' : 'warn'](
      {
        event: final ? 'registry.job_failed' : 'registry.job_retry',
        jobId: job?.id,
        data: job?.data,
        attempts: job?.attemptsMade,
        ...failureFields(err),
      },
      final ? 'registry job failed; kept in the failed set' : 'registry job failed; will retry',
    );
  });
  worker.on('error', (err) =>
    logger[isNetworkError(err) ? 'debug' : 'warn'](
      { event: 'registry.worker_error', err: err.message },
      'registry worker error',
    ),
  );
  return worker;
}

/** A reconcile per tenant now, and on a schedule; the scheduler id makes this safe from every process. */
export async function scheduleReconciles(
  queue: Queue<RegistryJobData>,
  tenants: string[],
  everyMs: number,
): Promise<void> {
  for (const tenant of tenants) {
    const data: RegistryJobData = { kind: 'reconcile', tenantApiKey: tenant, cause: 'schedule' };
    await queue.upsertJobScheduler(
      `reconcile:${tenant}`,
      { every: everyMs },
      {
        name: REGISTRY_JOB_NAMES.reconcile,
        data,
        opts: REGISTRY_JOB_OPTIONS,
      },
    );
    await queue.add(
      REGISTRY_JOB_NAMES.reconcile,
      { ...data, cause: 'start' },
      {
        ...REGISTRY_JOB_OPTIONS,
        deduplication: { id: `reconcile-start:${tenant}` },
      },
    );
  }
}
