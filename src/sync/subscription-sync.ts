import type { KillBillClient } from '../killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import {
  billingCycleOf,
  billingPeriodContaining,
  billingWindowsBetween,
  isWithinLateUsageHorizon,
  mayHaveBeenInvoiced,
  planPeriodRecords,
  planWindowPosting,
  windowOverlapsSpan,
  type BillingCycle,
  type UsageTzMode,
  type PeriodWindowInput,
  type SubscriptionSpan,
  type WindowSize,
} from '../metering/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';
import { giveCredits } from './credit-sync.js';
import { ratesForWindows, type RatedRow } from './rated-usage-pull.js';
import type { LedgerWindow, UsageLedger } from './usage-ledger.js';
import type { SyncObserver } from './sync-observer.js';
import { SubscriptionBusyError, SubscriptionLockLostError, SubscriptionSyncError } from './sync-errors.js';

/** One subscription's share of a sync run. */
export interface SyncTarget {
  entry: SubscriptionEntry;
  /** CloudKitty data for this subscription covers [from, to); windows before `from` use the ledger's rates. */
  from: Date;
  /** End of the last closed window to record. */
  to: Date;
}

export interface SubscriptionSyncResult {
  subscriptionId: string;
  records: number;
  corrections: number;
  alreadyRecorded: number;
  lateDifferences: number;
  /** Downward corrections given as account credits now (one per unit and window revision). */
  credits?: number;
  /** Credits an interrupted run had given, found on the account and confirmed, not given again. */
  alreadyCredited?: number;
  /** Cents of money credited, both kinds. */
  creditedCents?: number;
  /** Why this subscription's sync failed; its watermark did not move and the next run retries. */
  error?: string;
}

export interface SubscriptionSyncOptions {
  ledger: UsageLedger;
  clients: ReadonlyMap<string, KillBillClient>;
  windowSize: WindowSize;
  horizonPeriods: number;
  logger: Logger;
  /** Lifetime of a subscription's lock, renewed while its sync runs. Default 60 000 ms. */
  lockTtlMs?: number;
  /** Decimal places CloudKitty's rates are quantized to before they are summed. Default 8. */
  rateScale?: number;
  /** The Kill Bill server's usage tz mode. Default FIXED, Kill Bill's own default. */
  tzMode?: UsageTzMode;
  /** Told of every record Kill Bill takes (the process's metrics). */
  observer?: Pick<SyncObserver, 'recorded' | 'credited'>;
}

/** The cycle of a metered entry, whose `since` is always set. */
export function cycleOfEntry(entry: SubscriptionEntry, tzMode: UsageTzMode): BillingCycle {
  return billingCycleOf({ ...entry, since: entry.since! }, tzMode);
}

export function spanOf(entry: SubscriptionEntry): SubscriptionSpan {
  return { start: new Date(entry.since!), end: entry.until ? new Date(entry.until) : null };
}

/** What one subscription's run works with, from its lock to its last confirmation. */
interface RunContext {
  kb: KillBillClient;
  entry: SubscriptionEntry;
  /** The ledger as this run has it: read with the lock, updated as records are planned and confirmed. */
  windows: Map<string, LedgerWindow>;
  result: SubscriptionSyncResult;
  assertHeld: () => void;
  /** Writes a window Kill Bill has all of, as the run has it then; fails if the lock is no longer ours. */
  confirm: (start: string) => Promise<void>;
}

/**
 * Records one subscription's closed windows in Kill Bill, exactly once: each record is written to the
 * ledger as pending before it is sent, with a tracking id fixed by (subscription, window, revision), and
 * confirmed after. A crash in between resends the same record, which Kill Bill takes or answers 50000.
 */
export class SubscriptionSync {
  constructor(private readonly options: SubscriptionSyncOptions) {}

  async run(target: SyncTarget, rows: readonly RatedRow[], now: Date): Promise<SubscriptionSyncResult> {
    const { logger } = this.options;
    const { entry } = target;
    const result: SubscriptionSyncResult = {
      subscriptionId: entry.subscriptionId,
      records: 0,
      corrections: 0,
      alreadyRecorded: 0,
      lateDifferences: 0,
      credits: 0,
      alreadyCredited: 0,
      creditedCents: 0,
    };
    const { windows, assertHeld, commit, stop } = await this.hold(entry);
    try {
      const kb = this.options.clients.get(entry.tenantApiKey);
      if (!kb) throw new Error(`tenant ${entry.tenantApiKey} is not configured`);
      const run: RunContext = {
        kb,
        entry,
        windows,
        result,
        assertHeld,
        // At once, not batched: after a crash only what was in flight is sent again.
        confirm: (start) => commit([start]),
      };
      // Records left pending by an interrupted run go first, exactly as they were.
      for (const [start, w] of windows) {
        if (!w.pending) continue;
        assertHeld();
        await this.send(run, start, w, true);
      }
      await this.planAndRecord(run, target, rows, now);
      assertHeld();
      await commit([], { watermark: target.to.toISOString(), release: true });
      logger.info(
        { event: 'sync.subscription_done', tenant: entry.tenantApiKey, ...result, through: target.to },
        'subscription synced',
      );
      return result;
    } catch (err) {
      throw new SubscriptionSyncError(entry.tenantApiKey, result, err);
    } finally {
      await stop();
    }
  }

  /**
   * Takes the subscription's lock and reads its ledger in one round trip, and keeps the lock alive. Writes go
   * through `commit`, only while the lock is this run's: a run that lost it leaves its windows pending, and the
   * next run's resend is answered "already recorded".
   */
  private async hold(entry: SubscriptionEntry) {
    const ttl = this.options.lockTtlMs ?? 60_000;
    // Waiting a little over one TTL lets a run go ahead after a crashed one's lock lapses.
    const waitMs = ttl + 1_000;
    const { tenantApiKey: tenant, subscriptionId } = entry;
    const held = await this.options.ledger.lockAndRead(tenant, subscriptionId, ttl, waitMs);
    if (!held) throw new SubscriptionBusyError(tenant, subscriptionId, waitMs);
    const { lock, windows } = held;
    let lost = false;
    const renew = setInterval(
      () =>
        void lock.extend().then(
          (ok) => (lost ||= !ok),
          () => (lost = true),
        ),
      ttl / 3,
    );
    return {
      windows,
      assertHeld: () => {
        if (lost) throw new SubscriptionLockLostError(tenant, subscriptionId);
      },
      commit: async (starts: string[], options?: { watermark: string; release: true }) => {
        const latest = new Map(starts.map((start) => [start, windows.get(start)!]));
        if (!(await lock.commit(latest, options)))
          throw new SubscriptionLockLostError(tenant, subscriptionId);
      },
      stop: async () => {
        clearInterval(renew);
        await lock.release().catch(() => {});
      },
    };
  }

  private async planAndRecord(
    run: RunContext,
    target: SyncTarget,
    rows: readonly RatedRow[],
    now: Date,
  ): Promise<void> {
    const { windows: ledgerWindows, result, assertHeld } = run;
    const { ledger, windowSize, horizonPeriods, logger } = this.options;
    const { entry } = target;
    const cycle = cycleOfEntry(entry, this.options.tzMode ?? 'FIXED');
    const span = spanOf(entry);
    const spanEnd = span.end && span.end < target.to ? span.end : target.to;
    if (spanEnd <= span.start || target.from >= target.to) return;

    // Every billing period touched by the new data is planned whole, from its first billed window.
    let periodStart = billingPeriodContaining(target.from, cycle).start;
    while (periodStart < target.to) {
      const period = billingPeriodContaining(periodStart, cycle);
      const begin = period.start > span.start ? period.start : span.start;
      const end = period.end < target.to ? period.end : target.to;
      periodStart = period.end;
      if (begin >= end) continue;
      const windows = billingWindowsBetween(begin, end, windowSize, cycle).filter(
        (w) => windowOverlapsSpan(w, span) && w.end <= target.to,
      );
      const fresh = windows.filter((w) => w.start >= target.from);
      const freshRates = ratesForWindows(rows, fresh, entry.units, entry, this.options.rateScale);
      const rateOf = new Map(fresh.map((w, i) => [w, freshRates[i]!]));
      const inputs: PeriodWindowInput[] = windows.map((w) => {
        const stored = ledgerWindows.get(w.start.toISOString());
        const rates = rateOf.get(w) ?? stored?.rates ?? {};
        const recorded =
          stored && stored.lastRevision !== null
            ? { cents: stored.cents, lastRevision: stored.lastRevision }
            : null;
        return { window: w, rates, recorded };
      });
      const unprocessed = windows.some((w) => !ledgerWindows.has(w.start.toISOString()));
      const within = unprocessed || isWithinLateUsageHorizon(period, now, cycle, horizonPeriods);
      const plan = planPeriodRecords(inputs, within);
      const invoiced = mayHaveBeenInvoiced(period, span, now);

      // Remember the rates seen for every window, zero ones included: later windows round on top of them.
      // Only this period's fresh windows change, so only they are written back.
      const touched = new Map<string, LedgerWindow>();
      for (const input of inputs) {
        if (input.window.start < target.from) continue;
        const key = input.window.start.toISOString();
        const prev = ledgerWindows.get(key);
        const w: LedgerWindow = {
          end: input.window.end.toISOString(),
          rates: input.rates as Record<string, string>,
          cents: prev?.cents ?? {},
          lastRevision: prev?.lastRevision ?? null,
          pending: prev?.pending,
          credits: prev?.credits,
        };
        ledgerWindows.set(key, w);
        touched.set(key, w);
      }
      for (const p of plan.records) {
        const key = p.window.start.toISOString();
        const { record, credits } = planWindowPosting({
          subscriptionId: entry.subscriptionId,
          span,
          windowSize,
          planned: p,
          invoiced,
        });
        if (!record && credits.length === 0) continue;
        const w = ledgerWindows.get(key)!;
        w.pending = { revision: p.revision, cents: { ...p.cents }, record, credits };
        touched.set(key, w);
        if (p.correction) result.corrections++;
      }
      assertHeld();
      await ledger.saveWindows(entry.tenantApiKey, entry.subscriptionId, touched);
      for (const p of plan.records) {
        const key = p.window.start.toISOString();
        const w = ledgerWindows.get(key)!;
        if (!w.pending) continue;
        assertHeld();
        await this.send(run, key, w, false);
      }
      if (Object.keys(plan.lateDifferences).length > 0) {
        result.lateDifferences++;
        await ledger.reportLateDifference(
          entry.tenantApiKey,
          entry.subscriptionId,
          period.start.toISOString(),
          plan.lateDifferences,
        );
        logger.warn(
          {
            event: 'sync.late_difference',
            subscriptionId: entry.subscriptionId,
            period: period.start,
            cents: plan.lateDifferences,
          },
          'CloudKitty changed a period outside the late-usage horizon; reported, not recorded',
        );
      }
    }
  }

  /**
   * Sends a pending revision (its usage record, then its credits) and folds it into the window once Kill Bill
   * has all of it. `resumed`: it was left pending by an interrupted run, so a credit may already exist.
   */
  private async send(run: RunContext, start: string, w: LedgerWindow, resumed: boolean): Promise<void> {
    const { kb, entry, result } = run;
    const pending = w.pending!;
    const outcome = pending.record ? await kb.recordUsage(pending.record) : null;
    const { logger, observer } = this.options;
    const given = await giveCredits({ kb, entry, logger, observer, result }, pending, resumed);
    for (const [unit, cents] of Object.entries(pending.cents)) w.cents[unit] = (w.cents[unit] ?? 0) + cents;
    if (given.length > 0) w.credits = [...(w.credits ?? []), ...given];
    w.lastRevision = pending.revision;
    delete w.pending;
    run.windows.set(start, w);
    await run.confirm(start);
    if (!pending.record || !outcome) return;
    if (outcome === 'already-recorded') result.alreadyRecorded++;
    else result.records++;
    this.options.observer?.recorded({
      tenant: entry.tenantApiKey,
      cents: pending.cents,
      // Revision 0 is a window's first record; any later one corrects it.
      correction: pending.revision > 0,
      outcome,
    });
    this.options.logger.info(
      {
        event: outcome === 'recorded' ? 'sync.usage_recorded' : 'sync.usage_already_recorded',
        tenant: entry.tenantApiKey,
        accountId: entry.accountId,
        subscriptionId: entry.subscriptionId,
        trackingId: pending.record.trackingId,
        cents: pending.cents,
      },
      outcome === 'recorded' ? 'usage recorded in Kill Bill' : 'Kill Bill already had this record',
    );
  }
}
