import { Queue, type Job, type Worker } from 'bullmq';
import { REGISTRY_QUEUE } from '../jobs/queue-names.js';
import type { RegistryJobData } from '../jobs/registry-jobs.js';
import type { UsageJobData } from '../jobs/usage-jobs.js';
import { createRegistryWorker, scheduleReconciles } from '../../workers/registry-worker.js';
import { createUsageWorker, scheduleUsageSync } from '../../workers/usage-worker.js';
import type { BridgeRuntime } from './bridge-runtime.js';
import type { StoppablePart } from './graceful-shutdown.js';

/** `bridge worker`: the registry and usage workers and their schedules, against one Redis. */
export class WorkerService implements StoppablePart {
  private workers: Worker[] = [];
  private queues: Array<Queue<RegistryJobData> | Queue<UsageJobData>> = [];
  /** The jobs this process runs now, by `queue job id`: what a shutdown out of time names and hands back. */
  private readonly active = new Map<string, Job>();

  constructor(private readonly runtime: BridgeRuntime) {}

  async start(): Promise<void> {
    const { config, logger, redis, registrar, usageSync, registry, clients } = this.runtime;
    const prefix = config.redis.prefix;
    const registryWorker = createRegistryWorker({ connection: redis, prefix, registrar, logger });
    const { worker: usageWorker, queue: usageQueue } = createUsageWorker({
      connection: redis,
      prefix,
      usageSync,
      registry,
      logger,
      concurrency: config.metering.concurrency,
    });
    const registryQueue = new Queue<RegistryJobData>(REGISTRY_QUEUE, { connection: redis, prefix });
    this.workers = [registryWorker, usageWorker];
    for (const w of this.workers) this.follow(w);
    this.queues = [registryQueue, usageQueue];
    for (const w of this.workers) this.runtime.metrics.watchWorker(w);
    this.runtime.metrics.readFrom(redis, prefix);
    await scheduleReconciles(registryQueue, [...clients.keys()], config.registry.reconcileEveryMs);
    await scheduleUsageSync(usageQueue, config.metering.syncEveryMs, config.metering.recheckEveryMs);
    logger.info(
      {
        event: 'worker.started',
        syncEveryMs: config.metering.syncEveryMs,
        reconcileEveryMs: config.registry.reconcileEveryMs,
      },
      'workers started',
    );
  }

  private follow(worker: Worker): void {
    const key = (job: Job) => `${worker.name} job ${job.id ?? '?'} (${job.name})`;
    worker.on('active', (job: Job) => this.active.set(key(job), job));
    worker.on('completed', (job: Job) => this.active.delete(key(job)));
    worker.on('failed', (job: Job | undefined) => job && this.active.delete(key(job)));
    // BullMQ hands back a job whose worker stopped renewing its lock: a worker died or hung mid-job.
    worker.on('stalled', (jobId: string) =>
      this.runtime.logger.warn(
        { event: 'worker.job_stalled', queue: worker.name, jobId },
        'a job whose worker stopped mid-job (died or hung) is run again',
      ),
    );
  }

  /** The jobs running now, e.g. `registry job 12 (account)`. */
  stillRunning(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Puts the jobs still running back at the head of their queue, so that another worker takes them at once
   * rather than after their lock expires (BullMQ's stalled check: up to a minute). Only for a process about
   * to exit: the job runs again from the start, which every job here is written to allow.
   */
  async abandon(): Promise<string[]> {
    const handed: string[] = [];
    for (const [name, job] of this.active) {
      if (!job.token) continue;
      const moved = await job.moveToWait(job.token).then(
        () => true,
        () => false,
      );
      if (moved) handed.push(name);
    }
    return handed;
  }

  /** Lets running jobs finish (BullMQ's close waits for them), then stops. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(this.queues.map((q) => q.close()));
    this.runtime.logger.info({ event: 'worker.stopped' }, 'workers stopped');
  }
}
