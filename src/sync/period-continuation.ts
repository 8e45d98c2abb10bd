import {
  alignWindowStart,
  billingWindowsBetween,
  continuePeriodRecords,
  isWithinLateUsageHorizon,
  windowOverlapsSpan,
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
  // Inside a period only its start can cut a grid cell: the window before `from` starts a cell earlier, or there.
  const cell = from.getTime() - size.ms;
  const start = iso(new Date(Math.max(cell, period.start.getTime())));
  const window = ctx.ledger.get(start);
  const rounding = window?.rounding;
  if (!window || !rounding || window.pending || window.end !== iso(from)) return null;
  return rounding.since === iso(begin) ? { start, window, rounding } : null;
}
