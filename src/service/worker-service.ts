import { Queue, type Worker } from 'bullmq';
import { parseDuration } from '../config/index.js';
import { REGISTRY_QUEUE } from '../queues/queue-names.js';
import type { RegistryJobData } from '../queues/registry-jobs.js';
import type { UsageJobData } from '../queues/usage-jobs.js';
import { createRegistryWorker, scheduleReconciles } from '../../workers/registry-worker.js';
import { createUsageWorker, scheduleUsageSync } from '../../workers/usage-worker.js';
import type { BridgeRuntime } from './bridge-runtime.js';

/** `bridge worker`: the registry and usage workers and their schedules, against one Redis. */
export class WorkerService {
  private workers: Worker[] = [];
  private queues: Array<Queue<RegistryJobData> | Queue<UsageJobData>> = [];

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
    this.queues = [registryQueue, usageQueue];
    for (const w of this.workers) this.runtime.metrics.watchWorker(w);
    this.runtime.metrics.readFrom(redis, prefix);
    await scheduleReconciles(
      registryQueue,
      [...clients.keys()],
      parseDuration(config.registry.reconcileEvery)!,
    );
    await scheduleUsageSync(
      usageQueue,
      parseDuration(config.metering.syncEvery)!,
      parseDuration(config.metering.recheckEvery)!,
    );
    logger.info(
      {
        event: 'worker.started',
        syncEvery: config.metering.syncEvery,
        reconcileEvery: config.registry.reconcileEvery,
      },
      'workers started',
    );
  }

  /** Lets running jobs finish (BullMQ's close waits for them), then stops. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(this.queues.map((q) => q.close()));
    this.runtime.logger.info({ event: 'worker.stopped' }, 'workers stopped');
  }
}
