import type { Logger } from '../logging/logger.js';

/** One half of a service process (the intake API, the workers, the worker's health port). */
export interface StoppablePart {
  /** Stops taking new work and resolves once the work in hand is done. */
  stop(): Promise<void>;
  /** What is still running, e.g. `registry job 12 (account)` or `2 request(s) in flight`. */
  stillRunning(): string[];
  /** The last chance before the process exits with work unfinished; says what it gave back. */
  abandon?(): Promise<string[]>;
}

export interface ShutdownOptions {
  signal: NodeJS.Signals;
  limitMs: number;
  logger: Logger;
  parts: StoppablePart[];
  /** Once every part has stopped: closes what they shared (the Redis connection). */
  close?: () => Promise<void>;
  /** How long {@link StoppablePart.abandon} may take; Redis may be what is hanging. Default 2 s. */
  abandonMs?: number;
}

/** Resolves to `undefined` after `ms`, unless the promise settles first. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Stops every part at once and waits for them, up to `limitMs`. Returns the exit code: 0 when all the
 * work in hand finished, 1 when the limit was reached; then the log names what was still running, since
 * the operator needs to know what a restart will run again.
 */
export async function shutDown(options: ShutdownOptions): Promise<number> {
  const { signal, limitMs, logger, parts } = options;
  const started = Date.now();
  logger.info(
    { event: 'process.signal', signal, limitMs },
    `${signal}: stopping; in-flight requests and running jobs get ${seconds(limitMs)} to finish`,
  );
  const stopped = Promise.all(parts.map((p) => p.stop())).then(
    () => 'stopped' as const,
    (err: unknown) => {
      logger.error({ event: 'process.stop_failed', err: (err as Error).message }, 'stopping failed');
      return 'failed' as const;
    },
  );
  const outcome = await within(stopped, limitMs);
  if (outcome) {
    await within(options.close?.() ?? Promise.resolve(), options.abandonMs ?? 2_000);
    logger.info({ event: 'process.stopped', signal, ms: Date.now() - started }, 'stopped');
    return outcome === 'stopped' ? 0 : 1;
  }
  const running = parts.flatMap((p) => p.stillRunning());
  const handedBack = (
    await Promise.all(
      parts.map((p) => within(p.abandon?.() ?? Promise.resolve([]), options.abandonMs ?? 2_000)),
    )
  ).flatMap((h) => h ?? []);
  const what = running.length > 0 ? running.join(', ') : 'nothing known (a part did not stop)';
  const back =
    handedBack.length > 0 ? `; back in their queue for the next worker: ${handedBack.join(', ')}` : '';
  logger.error(
    { event: 'process.stop_timeout', signal, limitMs, running, handedBack },
    `not stopped within server.shutdownTimeout (${seconds(limitMs)}), exiting anyway; still running: ${what}${back}`,
  );
  return 1;
}
