import type { CreditedUsage, RecordObserver, RecordedUsage } from '../record/record-observer.js';

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

/**
 * One subscription run's counts. It hears each record and credit as Kill Bill confirms it (and tells the
 * process's observer in turn), so a run that stops part way still reports what Kill Bill already holds.
 */
export class SubscriptionTally implements RecordObserver {
  records = 0;
  alreadyRecorded = 0;
  corrections = 0;
  lateDifferences = 0;
  credits = 0;
  alreadyCredited = 0;
  creditedCents = 0;
  /** The window (start, ISO) whose revision is being sent, if any: a failure then names it. */
  sending: string | undefined;

  constructor(
    private readonly subscriptionId: string,
    private readonly forward?: RecordObserver,
  ) {}

  recorded(usage: RecordedUsage): void {
    if (usage.outcome === 'already-recorded') this.alreadyRecorded++;
    else this.records++;
    this.forward?.recorded(usage);
  }

  credited(credit: CreditedUsage): void {
    if (credit.outcome === 'already-credited') this.alreadyCredited++;
    else this.credits++;
    this.creditedCents += credit.cents;
    this.forward?.credited?.(credit);
  }

  result(): SubscriptionSyncResult {
    return {
      subscriptionId: this.subscriptionId,
      records: this.records,
      corrections: this.corrections,
      alreadyRecorded: this.alreadyRecorded,
      lateDifferences: this.lateDifferences,
      credits: this.credits,
      alreadyCredited: this.alreadyCredited,
      creditedCents: this.creditedCents,
    };
  }
}
