/** How long a scrape waits for Redis before it answers without the figures Redis holds. */
export const DEFAULT_SCRAPE_DEADLINE_MS = 1_000;

/**
 * Settles as `work` does, or rejects after `ms`. A worker's Redis connection queues commands while Redis is
 * away instead of failing them, so without a deadline /metrics would hang for the whole outage, just when
 * it is needed most.
 */
export async function withinDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
