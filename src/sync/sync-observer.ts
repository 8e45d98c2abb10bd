import type { RecordObserver } from '../record/record-observer.js';
import type { IdleSubscription } from './idle-reasons.js';
import type { UnattributedUsage } from './unattributed-usage.js';

/**
 * What a sync tells whoever watches it (the process's metrics): each record and credit as the record stage
 * reports it, and after a run why subscriptions idled. Kept to plain facts so the sync does not depend on
 * how they are exported.
 */
export interface SyncObserver extends RecordObserver {
  /** After a whole run: every configured tenant, and why each idle subscription recorded nothing. */
  idle(tenants: readonly string[], idle: readonly IdleSubscription[]): void;
  /** After each pull: every configured tenant, and the projects whose usage no subscription owns. */
  unattributed?(tenants: readonly string[], found: readonly UnattributedUsage[]): void;
}
