import { HOUR_MS, alignWindowStart, assertValidInstant, type WindowSize } from './window.js';

/** Without CloudKitty's processing state, wait this long after a window ends before trusting its rates. */
export const DEFAULT_SETTLE_DELAY_MS = 2 * HOUR_MS;

export interface ClosedWindowInput {
  readonly now: Date;
  readonly windowSize: WindowSize;
  /** CloudKitty's `last_processed_timestamp` for the project, when it reports one. */
  readonly lastProcessed?: Date | null;
  readonly settleDelayMs?: number;
}

/**
 * End of the last window closed for a project: every window ending at or before it has been rated.
 * CloudKitty's own last_processed_timestamp is authoritative when present; otherwise wall-clock time less
 * a settle delay. Recording an open window would only create corrections later, so this errs late.
 */
export function closedThrough(input: ClosedWindowInput): Date {
  const base = input.lastProcessed
    ? assertValidInstant(input.lastProcessed, 'lastProcessed')
    : assertValidInstant(input.now, 'now') - (input.settleDelayMs ?? DEFAULT_SETTLE_DELAY_MS);
  return alignWindowStart(new Date(base), input.windowSize);
}
