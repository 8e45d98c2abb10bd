import type { Job, Queue, QueueOptions, Worker } from 'bullmq';
import { Counter, Gauge, type Registry } from 'prom-client';
import { withinDeadline } from './scrape-deadline.js';

/** Job states reported per queue; `waiting` includes prioritized and paused jobs. */
const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
type JobCounts = Record<(typeof STATES)[number], number>;

/** Whether BullMQ will try the job again: the same test BullMQ makes before it moves a job to failed. */
export function willRetry(job: Job | undefined, err: Error): boolean {
  if (!job || err.name === 'UnrecoverableError' || isUnrecoverable(err)) return false;
  return job.attemptsMade < (job.opts.attempts ?? 1);
}

/**
 * BullMQ's `instanceof UnrecoverableError`, by the class's name along the prototype chain: this module must not
 * load bullmq, which a one-shot `bridge sync` would pay for at start (about 0.2 s of CPU) only to count no jobs.
 */
function isUnrecoverable(err: Error): boolean {
  for (let p: unknown = Object.getPrototypeOf(err); p; p = Object.getPrototypeOf(p))
    if ((p as { constructor?: { name?: string } }).constructor?.name === 'UnrecoverableError') return true;
  return false;
}

/**
 * Jobs done per queue (counted from this process's workers' events), and jobs per state (read from Redis
 * at scrape time, the same for every process). A scrape waits for Redis only briefly.
 */
export class QueueMetrics {
  private readonly completed: Counter<'queue'>;
  private readonly failed: Counter<'queue'>;
  private readonly retried: Counter<'queue'>;
  /** Opened by the first {@link countJobs}, which loads bullmq: only a service counts jobs. */
  private queues: Promise<Queue[]> | undefined;
  /** One Redis read per scrape, shared by the two gauges that need it. */
  private reading: Promise<Map<string, JobCounts | undefined>> | undefined;

  constructor(
    registry: Registry,
    private readonly deadlineMs: number,
  ) {
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ['queue'], registers: [registry] });
    this.completed = counter('bridge_jobs_completed_total', 'Jobs this process completed, per queue.');
    this.failed = counter(
      'bridge_jobs_failed_total',
      'Jobs that failed for good in this process (no attempt left, or not retryable), per queue.',
    );
    this.retried = counter(
      'bridge_jobs_retried_total',
      'Job attempts that failed in this process and will be tried again, per queue.',
    );
    const counts = () => this.counts();
    new Gauge({
      name: 'bridge_queue_jobs',
      help: 'Jobs in Redis per queue and state (waiting, active, delayed, failed), read at scrape time.',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [queue, c] of await counts()) {
          if (c) for (const state of STATES) this.set({ queue, state }, c[state]);
        }
      },
    });
    new Gauge({
      name: 'bridge_redis_up',
      help: 'Whether Redis gave the queue counts within the scrape deadline (1) or not (0).',
      registers: [registry],
      async collect() {
        const all = [...(await counts()).values()];
        // A process that reads no queue (a one-shot command) says nothing about Redis.
        if (all.length === 0) this.reset();
        else this.set(all.every(Boolean) ? 1 : 0);
      },
    });
  }

  /** Counts the worker's completed, failed and retried jobs under its queue's name. */
  watchWorker(worker: Worker): void {
    const queue = worker.name;
    for (const c of [this.completed, this.failed, this.retried]) c.inc({ queue }, 0);
    worker.on('completed', () => this.completed.inc({ queue }));
    worker.on('failed', (job, err) => (willRetry(job, err) ? this.retried : this.failed).inc({ queue }));
  }

  /** Reads these queues' counts at every scrape; the first connection given is kept. */
  countJobs(connection: QueueOptions['connection'], prefix: string, names: readonly string[]): void {
    this.queues ??= import('bullmq').then(({ Queue }) =>
      names.map((name) => {
        const queue = new Queue(name, { connection, prefix });
        // Redis going away is said by the dependency watch; here it only means no counts this scrape.
        queue.on('error', () => {});
        return queue;
      }),
    );
  }

  private counts(): Promise<Map<string, JobCounts | undefined>> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<Map<string, JobCounts | undefined>> {
    const entries = await Promise.all(
      (await (this.queues ?? [])).map(async (q) => {
        const got = await withinDeadline(
          q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
          this.deadlineMs,
          `counting the jobs of ${q.name}`,
        ).catch(() => undefined);
        const counts: JobCounts | undefined = got && {
          waiting: (got.waiting ?? 0) + (got.prioritized ?? 0) + (got.paused ?? 0),
          active: got.active ?? 0,
          delayed: got.delayed ?? 0,
          failed: got.failed ?? 0,
        };
        return [q.name, counts] as const;
      }),
    );
    return new Map(entries);
  }

  async close(): Promise<void> {
    const opening = this.queues;
    this.queues = undefined;
    const queues = (await opening?.catch(() => undefined)) ?? [];
    await Promise.all(queues.map((q) => q.close().catch(() => {})));
  }
}
