import type { RecordOutcome } from '../clients/killbill/killbill-client.js';

/** One usage record Kill Bill took (or already held), as the record stage reports it. */
export interface RecordedUsage {
  tenant: string;
  /** Cents per Kill Bill unit in the record; a correction may be negative. */
  cents: Readonly<Record<string, number>>;
  /** A later revision of a window already recorded: late data or re-rating. */
  correction: boolean;
  outcome: RecordOutcome;
}

/** A downward correction given as an account credit instead of negative usage. */
export interface CreditedUsage {
  tenant: string;
  unitType: string;
  /** Cents given back, > 0. */
  cents: number;
  /** `already-credited`: an interrupted run had given it; found on the account, not given again. */
  outcome: 'credited' | 'already-credited';
}

/** Told of what Kill Bill holds once it holds it: the process's metrics, and a run's own counts. */
export interface RecordObserver {
  recorded(usage: RecordedUsage): void;
  credited?(credit: CreditedUsage): void;
}
