import {
  alignWindowStart,
  billingPeriodContaining,
  billingWindowsBetween,
  continuePeriodRecords,
  isWithinLateUsageHorizon,
  windowOverlapsSpan,
  type BillingPeriod,
  type WindowSize,
} from '../metering/index.js';
import type { LedgerRounding, LedgerWindow } from '../record/usage-ledger.js';
import {
  freshWindow,
  iso,
  pendingRevisions,
  withoutRounding,
  type PeriodContext,
  type PlannedPeriod,
  type PlanSettings,
} from './planned-period.js';
import { cycleOfEntry, type MeteredEntry } from './metered-entry.js';
import { ratesForWindows } from './rated-usage-pull.js';

/**
 * A period planned from its rounding state instead of whole: the common sync, one or a few new windows after
 * the latest one in the ledger. Its cost does not depend on how much of the period is behind it. Null (the
 * period is planned whole) unless every fresh window is new and follows the window before `from`, that
 * window keeps the period's state, settled and counted from the period's current first billed instant, the
 * period is inside the late-usage horizon, and the run resent nothing an interrupted one left pending.
 * The result is the whole plan's, rounding state included: test/sync/plan-continuation.test.ts proves it.
 */
export function continuePeriod(ctx: PeriodContext, settings: PlanSettings): PlannedPeriod | null {
  const { ledger, span, period, cycle, from, to, now } = ctx;
  const found = ctx.wholePeriods ? null : stateBefore(ctx, settings);
  if (!found) return null;
  if (!isWithinLateUsageHorizon(period, now, cycle, settings.horizonPeriods)) return null;
  const end = period.end < to ? period.end : to;
  const windows = billingWindowsBetween(from, end, settings.windowSize, cycle).filter(
    (w) => windowOverlapsSpan(w, span) && w.end <= to,
  );
  if (windows.length === 0 || windows.some((w) => ledger.has(iso(w.start)))) return null;
  const rates = ratesForWindows(ctx.rows, windows, ctx.entry.units, ctx.entry, settings.rateScale);
  const inputs = windows.map((window, i) => ({ window, rates: rates[i] ?? {}, recorded: null }));
  const continued = continuePeriodRecords(found.rounding, inputs);
  if (!continued) return null;

  const writes = new Map<string, LedgerWindow>();
  const rounding: LedgerRounding = { since: found.rounding.since, ...continued.state };
  inputs.forEach(({ window, rates }, i) => {
    const fresh = freshWindow(window.end, rates, undefined);
    writes.set(iso(window.start), i === inputs.length - 1 ? { ...fresh, rounding } : fresh);
  });
  const { sends, corrections } = pendingRevisions(ctx, settings, continued.plan.records, writes);
  writes.set(found.start, withoutRounding(found.window));
  return { period, writes, sends, corrections, lateDifferences: null, whole: false };
}

/** Inside a period only its start can cut a grid cell: the window before `from` starts a cell earlier, or there. */
function windowStartBefore(from: Date, period: BillingPeriod, size: WindowSize): string {
  return iso(new Date(Math.max(from.getTime() - size.ms, period.start.getTime())));
}

/** Beyond this many fresh windows (a backfill, a long outage) a run reads the whole ledger anyway. */
const LEAN_WINDOWS = 48;

/**
 * The ledger windows a run that continues every period reads: the window before `from` (it keeps the
 * rounding state) and the fresh ones (expected absent; read so that one present stops the continuation).
 * Null when the run is long enough that it reads the whole ledger.
 */
export function continuationStarts(
  target: { entry: MeteredEntry; from: Date; to: Date },
  settings: PlanSettings,
): string[] | null {
  const { entry, from, to } = target;
  const size = settings.windowSize;
  if (from >= to || (to.getTime() - from.getTime()) / size.ms > LEAN_WINDOWS) return null;
  const cycle = cycleOfEntry(entry, settings.tzMode ?? 'FIXED');
  const fresh = billingWindowsBetween(from, to, size, cycle).map((w) => iso(w.start));
  return [windowStartBefore(from, billingPeriodContaining(from, cycle), size), ...fresh];
}

/**
 * The window that ends at `from` in the same period, when the ledger has it settled with the period's
 * rounding state: the latest window of the period, as only the latest keeps the state.
 */
function stateBefore(
  ctx: PeriodContext,
  settings: PlanSettings,
): { start: string; window: LedgerWindow; rounding: LedgerRounding } | null {
  const { from, period, span } = ctx;
  const size = settings.windowSize;
  const begin = period.start > span.start ? period.start : span.start;
  if (from <= begin || alignWindowStart(from, size).getTime() !== from.getTime()) return null;
  const start = windowStartBefore(from, period, size);
  const window = ctx.ledger.get(start);
  const rounding = window?.rounding;
  if (!window || !rounding || window.pending || window.end !== iso(from)) return null;
  return rounding.since === iso(begin) ? { start, window, rounding } : null;
}
