import type { BulkJobOptions } from 'bullmq';

/** What of a BullMQ `Queue` the batches use. */
export interface BulkQueue<Data> {
  addBulk(jobs: Array<{ name: string; data: Data; opts?: BulkJobOptions }>): Promise<Array<{ id?: string }>>;
}

export interface BatchedAddsOptions {
  /** Most jobs sent in one pipeline; a batch this full goes at once instead of at the end of the turn. */
  maxBatch?: number;
  /** Longest wait for Redis to acknowledge a batch before every add in it is refused. */
  timeoutMs: number;
}

interface WaitingAdd<Data> {
  name: string;
  data: Data;
  opts: BulkJobOptions;
  /** When the add is refused if Redis has not acknowledged it (performance.now() time). */
  deadline: number;
  resolve: (jobId: string) => void;
  reject: (err: Error) => void;
}

/**
 * Adds to one BullMQ queue, sent in batches: the adds asked for while a batch is on its way to Redis go
 * together as the next pipeline (`Queue.addBulk`) once it is answered, and an add asked for while none is
 * goes at the end of the event loop's turn. Under load, the busier Redis is, the more each pipeline carries,
 * so each round trip and each pipeline's set-up is shared by more notifications; when idle, nothing waits
 * longer than a turn. Each add still resolves only once Redis has answered for its whole batch, with its own
 * job's id; when the batch fails, or its oldest add is not acknowledged within the timeout since it was asked,
 * every add in it is rejected. Some of a failed batch may nevertheless be in Redis: the caller refuses them
 * all, and the sender's retry is then folded into the job already there by BullMQ's deduplication.
 */
export class BatchedAdds<Data> {
  private waiting: Array<WaitingAdd<Data>> = [];
  private flushScheduled = false;
  private inFlight = false;
  private readonly maxBatch: number;

  constructor(
    private readonly queue: BulkQueue<Data>,
    private readonly options: BatchedAddsOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 256;
  }

  /** The id of the job Redis now holds (an existing one when deduplicated). */
  add(name: string, data: Data, opts: BulkJobOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const deadline = performance.now() + this.options.timeoutMs;
      this.waiting.push({ name, data, opts, deadline, resolve, reject });
      if (this.inFlight || this.flushScheduled) return;
      this.flushScheduled = true;
      // setImmediate runs after the poll phase: every request read in this turn is in the batch by then.
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    });
  }

  private flush(): void {
    if (this.inFlight || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.maxBatch);
    this.inFlight = true;
    let settled = false;
    const settle = (outcome: (add: WaitingAdd<Data>, i: number) => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      batch.forEach(outcome);
      this.inFlight = false;
      this.flush();
    };
    const refuseAll = (err: Error) => settle((add) => add.reject(err));
    // One timer per batch rather than per add, at its oldest add's deadline; a late answer settles nothing more.
    const timer = setTimeout(
      () => refuseAll(new Error(`Redis did not take the job within ${this.options.timeoutMs} ms`)),
      Math.max(0, batch[0]!.deadline - performance.now()),
    );
    // addBulk is async: whatever goes wrong, even building the jobs, comes back as a rejection.
    this.queue.addBulk(batch.map(({ name, data, opts }) => ({ name, data, opts }))).then(
      (added) =>
        settle((add, i) => {
          const id = added[i]?.id;
          // Without an id nothing proves Redis holds the job: refused, so the sender tries again.
          if (id) add.resolve(id);
          else add.reject(new Error('Redis answered the batch without an id for this job'));
        }),
      (err: unknown) => refuseAll(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
