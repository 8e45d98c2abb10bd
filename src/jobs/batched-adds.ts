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
  resolve: (jobId: string) => void;
  reject: (err: Error) => void;
}

/**
 * Adds to one BullMQ queue, sent in batches: every add asked for during one turn of the event loop goes to
 * Redis as a single pipeline (`Queue.addBulk`) when the turn ends. Under load many requests finish reading
 * their bodies in the same turn, so they share one write to Redis and one read of its answers instead of
 * paying a round trip each. Each add still resolves only once Redis has answered for the whole batch, with
 * its own job's id; when the batch fails or is not acknowledged in time, every add in it is rejected. Some
 * of a failed batch may nevertheless be in Redis: the caller refuses them all, and the sender's retry is then
 * folded into the job already there by BullMQ's deduplication.
 */
export class BatchedAdds<Data> {
  private waiting: Array<WaitingAdd<Data>> = [];
  private flushScheduled = false;
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
      this.waiting.push({ name, data, opts, resolve, reject });
      if (this.waiting.length >= this.maxBatch) {
        this.flush();
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate runs after the poll phase: every request read in this turn is in the batch by then.
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    const { timeoutMs } = this.options;
    const refuseAll = (err: Error) => {
      for (const add of batch) add.reject(err);
    };
    // One timer per batch rather than per add; a late answer after it fired settles nothing more.
    const timer = setTimeout(
      () => refuseAll(new Error(`Redis did not take the job within ${timeoutMs} ms`)),
      timeoutMs,
    );
    // addBulk is async: whatever goes wrong, even building the jobs, comes back as a rejection.
    this.queue.addBulk(batch.map(({ name, data, opts }) => ({ name, data, opts }))).then(
      (added) => {
        clearTimeout(timer);
        batch.forEach((add, i) => {
          const id = added[i]?.id;
          // Without an id nothing proves Redis holds the job: refused, so the sender tries again.
          if (id) add.resolve(id);
          else add.reject(new Error('Redis answered the batch without an id for this job'));
        });
      },
      (err: unknown) => {
        clearTimeout(timer);
        refuseAll(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
}
