import {
  billingPeriodContaining,
  billingWindowsBetween,
  isWithinLateUsageHorizon,
  mayHaveBeenInvoiced,
  planPeriodRecords,
  planWindowPosting,
  windowOverlapsSpan,
  type BillingCycle,
  type BillingPeriod,
  type SubscriptionSpan,
  type UsageTzMode,
  type UsageWindow,
  type WindowSize,
} from '../metering/index.js';
import type { PendingSend } from '../record/pending-revision.js';
import type { LedgerWindow } from '../record/usage-ledger.js';
import { cycleOfEntry, spanOf, type MeteredEntry } from './metered-entry.js';
import { ratesForWindows, type RatedRow } from './rated-usage-pull.js';

/** The sync's settings a plan depends on. */
export interface PlanSettings {
  windowSize: WindowSize;
  horizonPeriods: number;
  /** Decimal places CloudKitty's rates are quantized to before they are summed. Default 8. */
  rateScale?: number;
  /** The Kill Bill server's usage tz mode. Default FIXED, Kill Bill's own default. */
  tzMode?: UsageTzMode;
}

/** Everything one subscription's plan is made from; nothing is read while planning. */
export interface SubscriptionPlanInput {
  entry: MeteredEntry;
  /**
   * The ledger as the run has it: read under the lock, every revision an interrupted run left pending
   * already confirmed.
   */
  ledger: ReadonlyMap<string, LedgerWindow>;
  /** CloudKitty's rows of the subscription's project over [from, to). */
  rows: readonly RatedRow[];
  /** Windows before `from` are planned on the rates the ledger remembers; `to` ends the last closed window. */
  from: Date;
  to: Date;
  now: Date;
}

/** One billing period's part of a plan, carried out in this order: writes, then sends, then the late report. */
export interface PlannedPeriod {
  period: BillingPeriod;
  /** Ledger windows to write before anything is sent: the fresh windows' rates, and each revision as pending. */
  writes: Map<string, LedgerWindow>;
  /** Revisions to send, in window order; each is in `writes` too. */
  sends: PendingSend[];
  /** How many of the revisions correct a window already recorded. */
  corrections: number;
  /** Per unit, what CloudKitty changed outside the late-usage horizon: reported, never recorded. */
  lateDifferences: Record<string, number> | null;
}

interface PeriodContext extends SubscriptionPlanInput {
  cycle: BillingCycle;
  span: SubscriptionSpan;
  period: BillingPeriod;
}

const iso = (d: Date) => d.toISOString();

/**
 * Plans one subscription's records: every billing period touched by the new data is planned whole, from its
 * first billed window, because a period's cents are rounded cumulatively over its windows. Periods come one
 * at a time, in order, so a caller carries out each before the next is planned (a period that cannot be
 * planned stops the run after the earlier ones are recorded). A period reads only its own windows of `ledger`.
 */
export function* planSubscription(
  input: SubscriptionPlanInput,
  settings: PlanSettings,
): Generator<PlannedPeriod> {
  const { entry, from, to } = input;
  const cycle = cycleOfEntry(entry, settings.tzMode ?? 'FIXED');
  const span = spanOf(entry);
  const spanEnd = span.end && span.end < to ? span.end : to;
  if (spanEnd <= span.start || from >= to) return;
  let periodStart = billingPeriodContaining(from, cycle).start;
  while (periodStart < to) {
    const period = billingPeriodContaining(periodStart, cycle);
    periodStart = period.end;
    const planned = planPeriod({ ...input, cycle, span, period }, settings);
    if (planned) yield planned;
  }
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
  const invoiced = mayHaveBeenInvoiced(period, span, now);

  // Remember the rates seen for every window, zero ones included: later windows round on top of them.
  // Only this period's fresh windows change, so only they are written back.
  const writes = new Map<string, LedgerWindow>();
  for (const { window, rates } of inputs) {
    if (window.start < from) continue;
    const prev = ledger.get(iso(window.start));
    writes.set(iso(window.start), {
      end: iso(window.end),
      rates,
      cents: prev?.cents ?? {},
      lastRevision: prev?.lastRevision ?? null,
      pending: prev?.pending,
      credits: prev?.credits,
    });
  }
  const sends: PendingSend[] = [];
  let corrections = 0;
  for (const p of plan.records) {
    const posting = planWindowPosting({
      subscriptionId: ctx.entry.subscriptionId,
      span,
      windowSize: settings.windowSize,
      planned: p,
      invoiced,
    });
    if (!posting.record && posting.credits.length === 0) continue;
    const start = iso(p.window.start);
    const pending = {
      revision: p.revision,
      cents: { ...p.cents },
      record: posting.record,
      credits: posting.credits,
    };
    const window = { ...knownWindow(writes, ledger, start), pending };
    writes.set(start, window);
    sends.push({ start, window, pending, resumed: false });
    if (p.correction) corrections++;
  }
  const late = Object.keys(plan.lateDifferences).length > 0 ? { ...plan.lateDifferences } : null;
  return { period, writes, sends, corrections, lateDifferences: late };
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

/** A window a revision was planned for: one the plan writes, else one the ledger holds. */
function knownWindow(
  writes: ReadonlyMap<string, LedgerWindow>,
  ledger: ReadonlyMap<string, LedgerWindow>,
  start: string,
): LedgerWindow {
  const known = writes.get(start) ?? ledger.get(start);
  if (!known) throw new Error(`planned a revision of window ${start}, which the ledger does not hold`);
  return known;
}
