import {
  billingPeriodContaining,
  billingWindowsBetween,
  isSettled,
  isWithinLateUsageHorizon,
  planPeriodRecords,
  roundingStateAfter,
  windowOverlapsSpan,
  type BillingPeriod,
  type PeriodPlan,
  type PeriodWindowInput,
  type UsageWindow,
} from '../metering/index.js';
import type { LedgerRounding, LedgerWindow } from '../record/usage-ledger.js';
import { cycleOfEntry, spanOf } from './metered-entry.js';
import { continuePeriod } from './period-continuation.js';
import {
  freshWindow,
  iso,
  pendingRevisions,
  withoutRounding,
  type PeriodContext,
  type PlannedPeriod,
  type PlanSettings,
  type SubscriptionPlanInput,
} from './planned-period.js';
import { ratesForWindows } from './rated-usage-pull.js';

export type { PlannedPeriod, PlanSettings, SubscriptionPlanInput } from './planned-period.js';

/**
 * How a plan ended: every period planned, or stopped at a period that cannot continue its rounding state
 * while the ledger given was partial; the caller then plans again on the whole ledger. Planning again what
 * was carried out already sends nothing: those windows are in the ledger, confirmed.
 */
export type PlanEnd = 'done' | 'whole-ledger-needed';

/**
 * Plans one subscription's records. A period's cents are rounded cumulatively over its windows, so a period
 * is planned whole, from its first billed window, unless its only fresh windows follow the latest one in the
 * ledger and that one keeps a settled rounding state: then the plan continues from the state and costs the
 * same on any day of the month (period-continuation.ts). Periods come one at a time, in order, so a caller
 * carries out each before the next is planned (a period that cannot be planned stops the run after the
 * earlier ones are recorded). A period reads only its own windows of `ledger`.
 */
export function* planSubscription(
  input: SubscriptionPlanInput,
  settings: PlanSettings,
): Generator<PlannedPeriod, PlanEnd> {
  const { entry, from, to } = input;
  const cycle = cycleOfEntry(entry, settings.tzMode ?? 'FIXED');
  const span = spanOf(entry);
  const spanEnd = span.end && span.end < to ? span.end : to;
  if (spanEnd <= span.start || from >= to) return 'done';
  let periodStart = billingPeriodContaining(from, cycle).start;
  while (periodStart < to) {
    const period = billingPeriodContaining(periodStart, cycle);
    periodStart = period.end;
    const ctx = { ...input, cycle, span, period };
    const continued = continuePeriod(ctx, settings);
    if (!continued && input.partialLedger) return 'whole-ledger-needed';
    const planned = continued ?? planPeriod(ctx, settings);
    if (planned) yield planned;
  }
  return 'done';
}

function planPeriod(ctx: PeriodContext, settings: PlanSettings): PlannedPeriod | null {
  const { ledger, span, period, cycle, now, from, to } = ctx;
  const begin = period.start > span.start ? period.start : span.start;
  const end = period.end < to ? period.end : to;
  if (begin >= end) return null;
  const windows = billingWindowsBetween(begin, end, settings.windowSize, cycle).filter(
    (w) => windowOverlapsSpan(w, span) && w.end <= to,
  );
  const inputs = windowInputs(windows, ctx, settings);
  const unprocessed = windows.some((w) => !ledger.has(iso(w.start)));
  const within = unprocessed || isWithinLateUsageHorizon(period, now, cycle, settings.horizonPeriods);
  const plan = planPeriodRecords(inputs, within);
  const rounding = within ? roundingToKeep(ctx, inputs, plan, begin) : undefined;

  // Remember the rates seen for every window, zero ones included: later windows round on top of them.
  // Only this period's fresh windows change, so only they are written back.
  const writes = new Map<string, LedgerWindow>();
  const last = inputs[inputs.length - 1];
  for (const { window, rates } of inputs) {
    if (window.start < from) continue;
    const fresh = freshWindow(window.end, rates, ledger.get(iso(window.start)));
    writes.set(iso(window.start), window === last?.window && rounding ? { ...fresh, rounding } : fresh);
  }
  const { sends, corrections } = pendingRevisions(ctx, settings, plan.records, writes);
  // The state moves to the period's latest window, or is dropped when the plan leaves none settled.
  for (const start of holdersOf(ledger, period)) {
    const held = ledger.get(start);
    if (held && !writes.has(start)) writes.set(start, withoutRounding(held));
  }
  const late = Object.keys(plan.lateDifferences).length > 0 ? { ...plan.lateDifferences } : null;
  return { period, writes, sends, corrections, lateDifferences: late, whole: true };
}

/**
 * The rounding state to keep on the plan's last window: only when that window is fresh and the plan, once
 * recorded, leaves every unit settled. The window may not be the period's latest in the ledger (a backfill
 * that ends early); a later plan continues from it only over windows the ledger does not hold, which a
 * whole plan ending there would not read either.
 */
function roundingToKeep(
  ctx: PeriodContext,
  inputs: readonly PeriodWindowInput[],
  plan: PeriodPlan,
  begin: Date,
): LedgerRounding | undefined {
  const last = inputs[inputs.length - 1];
  if (!last || last.window.start < ctx.from) return undefined;
  const state = roundingStateAfter(inputs, plan);
  return isSettled(state) ? { since: iso(begin), ...state } : undefined;
}

/** The period's windows in the ledger that keep a rounding state: one at most, as every plan moves it. */
function holdersOf(ledger: ReadonlyMap<string, LedgerWindow>, period: BillingPeriod): string[] {
  const [lo, hi] = [iso(period.start), iso(period.end)];
  const found: string[] = [];
  for (const [start, w] of ledger) if (w.rounding && start >= lo && start < hi) found.push(start);
  return found;
}

/** Each window's rates (fresh from CloudKitty from `from` on, else as the ledger remembers) and what it holds. */
function windowInputs(windows: UsageWindow[], ctx: PeriodContext, settings: PlanSettings) {
  const { entry, ledger, rows, from } = ctx;
  const fresh = windows.filter((w) => w.start >= from);
  const freshRates = ratesForWindows(rows, fresh, entry.units, entry, settings.rateScale);
  const rateOf = new Map(fresh.map((w, i) => [w, freshRates[i] ?? {}]));
  return windows.map((window) => {
    const stored = ledger.get(iso(window.start));
    const rates = rateOf.get(window) ?? stored?.rates ?? {};
    const recorded =
      stored && stored.lastRevision !== null
        ? { cents: stored.cents, lastRevision: stored.lastRevision }
        : null;
    return { window, rates, recorded };
  });
}
