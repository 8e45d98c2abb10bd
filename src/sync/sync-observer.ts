import type { RecordOutcome } from '../killbill/killbill-client.js';
import type { IdleSubscription } from './idle-reasons.js';
import type { UnattributedUsage } from './unattributed-usage.js';

/** One usage record Kill Bill took (or already held), as the sync reports it. */
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

/**
 * What a sync tells whoever watches it (the process's metrics). Kept to plain facts so the sync does
 * not depend on how they are exported.
 */
export interface SyncObserver {
  recorded(usage: RecordedUsage): void;
  credited?(credit: CreditedUsage): void;
  /** After a whole run: every configured tenant, and why each idle subscription recorded nothing. */
  idle(tenants: readonly string[], idle: readonly IdleSubscription[]): void;
  /** After each pull: every configured tenant, and the projects whose usage no subscription owns. */
  unattributed?(tenants: readonly string[], found: readonly UnattributedUsage[]): void;
}
