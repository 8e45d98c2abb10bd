import { constants } from 'node:os';
import type { BridgeConfig } from '../config/index.js';
import type { Logger } from '../logging/logger.js';
import { shutDown, type StoppablePart } from './graceful-shutdown.js';
import { EXIT_FAILURE, untilSignal } from './startup.js';

export interface ServiceProcess {
  config: BridgeConfig;
  logger: Logger;
  /** Stopped together on the first signal; the work each has in hand may finish. */
  parts: StoppablePart[];
  start: () => Promise<void>;
  /** After every part stopped: what they shared (the workers' Redis connection). */
  close?: () => Promise<void>;
}

/** An operator who signals twice wants the process gone now: 128 + the signal number, as a shell says it. */
function exitOnNextSignal(logger: Logger): void {
  const force = (signal: NodeJS.Signals) => {
    logger.error(
      { event: 'process.forced', signal },
      `${signal} again: exiting now, without waiting for running jobs or requests`,
    );
    process.exit(128 + (constants.signals[signal] ?? 0));
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
}

/**
 * Runs `bridge api|worker|start`: starts, waits for SIGTERM or SIGINT, stops within server.shutdownTimeout
 * and exits 0, or 1 naming what was still running; a second signal exits at once.
 */
export async function runServiceProcess(service: ServiceProcess): Promise<never> {
  const { logger, parts } = service;
  // Listening from the start: a signal while starting stops the process as gracefully as later.
  const signalled = untilSignal();
  try {
    await service.start();
  } catch (err) {
    logger.error(
      { event: 'process.start_failed', err: (err as Error).message },
      `cannot start: ${(err as Error).message}`,
    );
    process.exit(EXIT_FAILURE);
  }
  const signal = await signalled;
  exitOnNextSignal(logger);
  const code = await shutDown({
    signal,
    limitMs: service.config.server.shutdownTimeoutMs,
    logger,
    parts,
    close: service.close,
  });
  process.exit(code);
}
