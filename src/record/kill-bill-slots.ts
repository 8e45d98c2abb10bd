/**
 * At most `size` Kill Bill calls of a sync at once. A sync runs more subscriptions side by side than this, so
 * that while some wait on Redis (their ledger calls batched with others', {@link LedgerBatch}) Kill Bill
 * still has `size` calls to work on: its throughput peaks near 16 on our machines (BENCHMARKS.md).
 */
export class KillBillSlots {
  private inUse = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly size: number) {}

  /** Runs `call` once a slot is free, and frees it when the call settles. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.inUse >= this.size) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.inUse++;
    try {
      return await call();
    } finally {
      // The slot passes straight to the next waiter: inUse counts it still.
      const next = this.queue.shift();
      if (next) next();
      else this.inUse--;
    }
  }
}
