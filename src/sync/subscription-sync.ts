import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import type { WindowSize } from '../metering/index.js';
import { holdLedger, type HeldLedger } from '../record/held-ledger.js';
import { sendPending, type PendingSend } from '../record/pending-revision.js';
import type { RecordContext } from '../record/credits.js';
import type { KillBillSlots } from '../record/kill-bill-slots.js';
import type { RecordObserver } from '../record/record-observer.js';
import type { LedgerWindow, UsageLedger } from '../record/usage-ledger.js';
import type { MeteredEntry } from './metered-entry.js';
import type { RatedRow } from './rated-usage-pull.js';
import { continuationStarts } from './period-continuation.js';
import {
  planSubscription,
  type PlannedPeriod,
  type PlanSettings,
  type SubscriptionPlanInput,
} from './subscription-plan.js';
import { SubscriptionTally, type SubscriptionSyncResult } from './subscription-tally.js';
import { SubscriptionSyncError, TenantNotConfiguredError } from '../errors/index.js';

export type { SubscriptionSyncResult } from './subscription-tally.js';

/** One subscription's share of a sync run. */
export interface SyncTarget {
  entry: MeteredEntry;
  /** CloudKitty data for this subscription covers [from, to); windows before `from` use the ledger's rates. */
  from: Date;
  /** End of the last closed window to record. */
  to: Date;
}

export interface SubscriptionSyncOptions extends PlanSettings {
  ledger: UsageLedger;
  clients: ReadonlyMap<string, KillBillClient>;
  windowSize: WindowSize;
  logger: Logger;
  /** Lifetime of a subscription's lock, renewed while its sync runs. Default 60 000 ms. */
  lockTtlMs?: number;
  /** Told of every record Kill Bill takes (the process's metrics). */
  observer?: RecordObserver;
}

/** What one subscription's run works with, from its lock to its last confirmation. */
interface Run {
  record: RecordContext;
  held: HeldLedger;
  /** The ledger as this run has it: read with the lock, each window replaced once Kill Bill confirmed it. */
  known: Map<string, LedgerWindow>;
  tally: SubscriptionTally;
  /** The run's last commit: the watermark and the lock's release, written with the last confirmation when it can. */
  end: { watermark: string; release: true };
  ended: boolean;
}

/**
 * Records one subscription's closed windows in Kill Bill, exactly once: each record is written to the
 * ledger as pending before it is sent, with a tracking id fixed by (subscription, window, revision), and
 * confirmed after. A crash in between resends the same record, which Kill Bill takes or answers 50000.
 */
export class SubscriptionSync {
  constructor(private readonly options: SubscriptionSyncOptions) {}

  /**
   * With `slots`, this run is one of many side by side whose Kill Bill calls the slots bound: its
   * confirmations may then wait a little to share a write to Redis with theirs (usage-sync.ts).
   */
  async run(
    target: SyncTarget,
    rows: readonly RatedRow[],
    now: Date,
    slots?: KillBillSlots,
  ): Promise<SubscriptionSyncResult> {
    const { logger, ledger, clients } = this.options;
    const { entry } = target;
    const tally = new SubscriptionTally(entry.subscriptionId, this.options.observer);
    const starts = continuationStarts(target, this.options);
    const held = await holdLedger(
      ledger,
      entry.tenantApiKey,
      entry.subscriptionId,
      this.options.lockTtlMs ?? 60_000,
      {
        lean: starts ? { from: target.from.toISOString(), starts } : undefined,
        linger: slots !== undefined,
      },
    );
    try {
      const kb = clients.get(entry.tenantApiKey);
      if (!kb) throw new TenantNotConfiguredError(entry.tenantApiKey);
      const run: Run = {
        record: { kb, entry, logger, observer: tally, slots },
        held,
        known: new Map(held.windows),
        tally,
        end: { watermark: target.to.toISOString(), release: true },
        ended: false,
      };
      // Records left pending by an interrupted run go first, exactly as they were; then periods are planned whole.
      let resumed = false;
      for (const [start, window] of held.windows) {
        if (!window.pending) continue;
        resumed = true;
        await this.send(run, { start, window, pending: window.pending, resumed: true });
      }
      await this.planAndCarryOut(run, { ...target, rows, now, wholePeriods: resumed });
      if (!run.ended) {
        held.assertHeld();
        await held.commit(new Map(), run.end);
      }
      const result = tally.result();
      // In a `bridge sync` run (slots), debug: each record has its info line and the run prints every
      // subscription's outcome; a second line each only costs at 10,000. A worker's job has no other line.
      logger[slots ? 'debug' : 'info'](
        { event: 'sync.subscription_done', tenant: entry.tenantApiKey, ...result, through: target.to },
        'subscription synced',
      );
      return result;
    } catch (err) {
      throw new SubscriptionSyncError(entry.tenantApiKey, tally.result(), err, {
        accountId: entry.accountId,
        window: tally.sending,
      });
    } finally {
      await held.stop();
    }
  }

  /**
   * Plans and carries out each period in turn; a plan made on a partial ledger that needs the whole one is made
   * again on it (what was carried out by then is in the ledger, confirmed, and sends nothing again).
   */
  private async planAndCarryOut(run: Run, input: Omit<SubscriptionPlanInput, 'ledger'>): Promise<void> {
    const partialLedger = !run.held.whole;
    const plan = planSubscription({ ...input, ledger: run.known, partialLedger }, this.options);
    let step = plan.next();
    for (; !step.done; step = plan.next()) await this.carryOut(run, step.value, input.to);
    if (step.value !== 'whole-ledger-needed') return;
    run.known = await run.held.readWhole();
    for (const planned of planSubscription({ ...input, ledger: run.known }, this.options))
      await this.carryOut(run, planned, input.to);
  }

  /**
   * One billing period of the plan: its windows written (revisions pending), then sent, then its late report.
   * The plan's last period (it reaches `to`) with nothing to report after its sends ends the run with its
   * last confirmation: one round trip to Redis fewer per subscription.
   */
  private async carryOut(run: Run, planned: PlannedPeriod, to: Date): Promise<void> {
    const { entry } = run.record;
    const { ledger, logger } = this.options;
    run.tally.corrections += planned.corrections;
    run.held.assertHeld();
    await run.held.save(planned.writes);
    const endsRun = planned.period.end >= to && !planned.lateDifferences;
    for (const [i, send] of planned.sends.entries())
      await this.send(run, send, endsRun && i === planned.sends.length - 1);
    if (!planned.lateDifferences) return;
    run.tally.lateDifferences++;
    const period = planned.period.start;
    await ledger.reportLateDifference(
      entry.tenantApiKey,
      entry.subscriptionId,
      period.toISOString(),
      planned.lateDifferences,
    );
    logger.warn(
      {
        event: 'sync.late_difference',
        subscriptionId: entry.subscriptionId,
        period,
        cents: planned.lateDifferences,
      },
      'CloudKitty changed a period outside the late-usage horizon; reported, not recorded',
    );
  }

  /**
   * Sends one pending revision while the lock is held, and confirms it before the next: a crash resends only
   * what was not confirmed yet (with runs side by side, the confirmations still waiting to share a write).
   * The run's last send (`endsRun`) is confirmed together with the watermark and the release.
   */
  private async send(run: Run, send: PendingSend, endsRun = false): Promise<void> {
    run.held.assertHeld();
    run.tally.sending = send.start;
    const confirmed = await sendPending(run.record, send, async (start, window) => {
      await run.held.commit(new Map([[start, window]]), endsRun ? run.end : undefined);
      run.ended = endsRun;
    });
    run.tally.sending = undefined;
    run.known.set(send.start, confirmed);
  }
}
