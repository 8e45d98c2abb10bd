import { createServer } from 'node:net';

export interface WaitOptions {
  /** How long to keep trying before failing. Default 10 s. */
  timeoutMs?: number;
  /** Pause between tries. Default 25 ms. */
  intervalMs?: number;
}

/**
 * Polls a condition until it holds; tests wait for what they expect instead of sleeping and hoping.
 * Returns the condition's truthy value, or throws naming what was awaited. A check that never answers (a
 * command on a connection that is gone) fails the wait too, instead of hanging the test.
 */
export async function waitFor<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 25 }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      // A slow check is given as long again (at least 30 s) past the deadline before it counts as hung.
      const value = await beforeDeadline(condition, deadline + Math.max(timeoutMs, 30_000));
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** One check, given up (left to settle unseen) when the deadline passes first. */
async function beforeDeadline<T>(condition: () => T | Promise<T>, deadline: number): Promise<T> {
  const check = Promise.resolve().then(condition);
  check.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the last check had not answered')),
      Math.max(deadline - Date.now(), 0) + 1,
    );
  });
  try {
    return await Promise.race([check, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
