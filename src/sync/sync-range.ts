import {
  alignWindowStart,
  billingPeriodRelativeTo,
  closedThrough,
  type ScopeStatePolicy,
  type UsageTzMode,
  type WindowSize,
} from '../metering/index.js';
import { cycleOfEntry, type MeteredEntry } from './metered-entry.js';

export interface SyncRangeSettings {
  windowSize: WindowSize;
  settleDelayMs: number;
  scopeState: ScopeStatePolicy;
  horizonPeriods: number;
  tzMode?: UsageTzMode;
}

/** What a run was asked: new windows or a recheck, and a backfill's UTC range (`to` exclusive). */
export interface SyncRangeRequest {
  mode: 'new' | 'recheck';
  from?: Date;
  to?: Date;
}

const min = (a: Date, b: Date) => (a < b ? a : b);
const max = (a: Date, b: Date) => (a > b ? a : b);

/**
 * The windows of one subscription a run may record: from its watermark (or the range asked, or the recheck
 * horizon) to the end of what CloudKitty has closed. A project CloudKitty has never rated has nothing closed
 * (`notRated`), so its watermark stays at the subscription's start and a later run records it all.
 */
export function syncRange(
  entry: MeteredEntry,
  watermark: string | undefined,
  req: SyncRangeRequest,
  now: Date,
  ratedUpTo: Date | undefined,
  settings: SyncRangeSettings,
): { from: Date; to: Date; notRated: boolean } {
  const { windowSize, settleDelayMs, scopeState, horizonPeriods } = settings;
  const since = alignWindowStart(new Date(entry.since), windowSize);
  const base = watermark ? new Date(watermark) : since;
  let from = base;
  if (req.from) from = max(alignWindowStart(req.from, windowSize), since);
  else if (req.mode === 'recheck') {
    const horizonStart = billingPeriodRelativeTo(
      now,
      -(horizonPeriods - 1),
      cycleOfEntry(entry, settings.tzMode ?? 'FIXED'),
    ).start;
    from = min(base, max(alignWindowStart(horizonStart, windowSize), since));
  }
  const closed = closedThrough({ now, windowSize, lastProcessed: ratedUpTo, settleDelayMs, scopeState });
  if (closed === null) return { from, to: from, notRated: true };
  let to = closed;
  if (req.to) to = min(to, alignWindowStart(req.to, windowSize));
  if (entry.until) to = min(to, ceilToWindow(new Date(entry.until), windowSize));
  return { from, to, notRated: false };
}

function ceilToWindow(d: Date, size: WindowSize): Date {
  const start = alignWindowStart(d, size);
  return start.getTime() === d.getTime() ? start : new Date(start.getTime() + size.ms);
}
