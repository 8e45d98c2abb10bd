import {
  mayHaveBeenInvoiced,
  planWindowPosting,
  type BillingCycle,
  type BillingPeriod,
  type PlannedWindowRecord,
  type SubscriptionSpan,
  type UsageTzMode,
  type WindowSize,
} from '../metering/index.js';
import { SyncInvariantError } from '../errors/index.js';
import type { PendingSend } from '../record/pending-revision.js';
import type { LedgerWindow } from '../record/usage-ledger.js';
import type { MeteredEntry } from './metered-entry.js';
import type { RatedRow } from './rated-usage-pull.js';

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
  /**
   * Plan every period whole, never continuing a stored rounding state: a run that resent what an interrupted
   * one left pending takes no shortcut.
   */
  wholePeriods?: boolean;
  /**
   * The ledger holds only the windows `continuationStarts` (period-continuation.ts) names (the last run settled it at `from`):
   * enough to continue a period, not to plan one whole.
   */
  partialLedger?: boolean;
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
  /** False when only new windows were planned, continuing the rounding state the ledger keeps. */
  whole: boolean;
}

export interface PeriodContext extends SubscriptionPlanInput {
  cycle: BillingCycle;
  span: SubscriptionSpan;
  period: BillingPeriod;
}

export const iso = (d: Date) => d.toISOString();

/** The window as the ledger keeps it, without the rounding state a later window now holds. */
export function withoutRounding(window: LedgerWindow): LedgerWindow {
  if (!window.rounding) return window;
  const { rounding: _moved, ...rest } = window;
  return rest;
}

/** A window planned on fresh rates: what the ledger knew of it, its rates replaced. */
export function freshWindow(
  end: Date,
  rates: Record<string, string>,
  prev: LedgerWindow | undefined,
): LedgerWindow {
  return {
    end: iso(end),
    rates,
    cents: prev?.cents ?? {},
    lastRevision: prev?.lastRevision ?? null,
    pending: prev?.pending,
    credits: prev?.credits,
  };
}

/**
 * The revisions of a period's planned records, each written in `writes` as pending on its window (one the
 * plan writes, else one the ledger holds). Returns them in window order and how many are corrections.
 */
export function pendingRevisions(
  ctx: PeriodContext,
  settings: PlanSettings,
  records: readonly PlannedWindowRecord[],
  writes: Map<string, LedgerWindow>,
): { sends: PendingSend[]; corrections: number } {
  const { span, period, now, ledger } = ctx;
  const invoiced = mayHaveBeenInvoiced(period, span, now);
  const sends: PendingSend[] = [];
  let corrections = 0;
  for (const p of records) {
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
    const known = writes.get(start) ?? ledger.get(start);
    if (!known) {
      throw new SyncInvariantError(`planned a revision of window ${start}, which the ledger does not hold`, {
        ids: { tenant: ctx.entry.tenantApiKey, subscriptionId: ctx.entry.subscriptionId, window: start },
      });
    }
    // A window the plan does not write is one behind the period's latest: its rounding state is stale.
    const window = { ...(writes.has(start) ? known : withoutRounding(known)), pending };
    writes.set(start, window);
    sends.push({ start, window, pending, resumed: false });
    if (p.correction) corrections++;
  }
  return { sends, corrections };
}
