import { HOUR_MS, assertValidInstant, type UsageWindow } from './window.js';

/** Without CloudKitty's processing state, wait this long after a window ends before trusting its rates. */
export const DEFAULT_SETTLE_DELAY_MS = 2 * HOUR_MS;

export interface ClosedWindowInput {
  readonly now: Date;
  readonly window: UsageWindow;
  /** CloudKitty's `last_processed_timestamp` for the project, when it reports one. */
  readonly lastProcessed?: Date | null;
  readonly settleDelayMs?: number;
}

/**
 * A window is closed for a project when CloudKitty has finished rating it. CloudKitty's own
 * last_processed_timestamp is authoritative when present (end <= lastProcessed); otherwise fall back to
 * wall-clock time plus a settle delay (end + delay <= now). Recording an open window would only create
 * corrections later, so this errs on the late side.
 */
export function isWindowClosed(input: ClosedWindowInput): boolean {
  const end = assertValidInstant(input.window.end, 'window end');
  if (input.lastProcessed) return end <= assertValidInstant(input.lastProcessed, 'lastProcessed');
  const delay = input.settleDelayMs ?? DEFAULT_SETTLE_DELAY_MS;
  return end + delay <= assertValidInstant(input.now, 'now');
}
