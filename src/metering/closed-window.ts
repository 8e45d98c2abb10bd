import { HOUR_MS, alignWindowStart, assertValidInstant, type WindowSize } from './window.js';

/** Without CloudKitty's processing state, wait this long after a window ends before trusting its rates. */
export const DEFAULT_SETTLE_DELAY_MS = 2 * HOUR_MS;

/**
 * Whether a project needs a CloudKitty scope state before any of its windows counts as closed.
 * `required`: cloudkitty-processor creates a project's scope state the first time it rates it, and then rates it
 * back to the start of the month; a project without one has rated nothing yet, however old its windows are.
 * `optional`: for a CloudKitty fed through `POST /v2/dataframes` without its processor, which never creates
 * scope states; a project without one is then taken as rated a settle delay after each window's end.
 */
export type ScopeStatePolicy = 'required' | 'optional';

export const SCOPE_STATE_POLICIES: readonly ScopeStatePolicy[] = ['required', 'optional'];

export interface ClosedWindowInput {
  readonly now: Date;
  readonly windowSize: WindowSize;
  /** CloudKitty's `last_processed_timestamp` for the project, when it reports one. */
  readonly lastProcessed?: Date | null;
  readonly settleDelayMs?: number;
  /** Default `required`: what a CloudKitty run with its processor needs. */
  readonly scopeState?: ScopeStatePolicy;
}

/**
 * End of the last window closed for a project: every window ending at or before it has been rated; null when
 * none is, because CloudKitty has never rated the project and its scope state is required. CloudKitty's own
 * last_processed_timestamp is authoritative when present; otherwise, only when the scope state is optional,
 * wall-clock time less a settle delay. Recording an open window would only create corrections later (or, for a
 * project CloudKitty has not started on, lose its usage), so this errs late.
 */
export function closedThrough(input: ClosedWindowInput): Date | null {
  if (input.lastProcessed) {
    const rated = assertValidInstant(input.lastProcessed, 'lastProcessed');
    return alignWindowStart(new Date(rated), input.windowSize);
  }
  const now = assertValidInstant(input.now, 'now');
  if ((input.scopeState ?? 'required') === 'required') return null;
  return alignWindowStart(new Date(now - (input.settleDelayMs ?? DEFAULT_SETTLE_DELAY_MS)), input.windowSize);
}
