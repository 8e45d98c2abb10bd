/**
 * At most `size` Kill Bill calls of a sync at once: its throughput peaks near 16 on our machines
 * (BENCHMARKS.md). A sync runs as many subscriptions side by side as it has slots (usage-sync.ts says why not
 * more), so a call waits here only if a run ever makes two at once; the bound holds whatever the runs do.
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
