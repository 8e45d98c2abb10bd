import {
  billingCycleOf,
  type BillingCycle,
  type SubscriptionSpan,
  type UsageTzMode,
} from '../metering/index.js';
import { SyncInvariantError } from '../errors/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';

/** A registry entry the sync may record: metered, on a project, from a known start. */
export type MeteredEntry = SubscriptionEntry & { status: 'metered'; projectId: string; since: string };

/** Narrows an entry as it is read from the registry, once: the sync past this point never checks again. */
export function isMetered(entry: SubscriptionEntry): entry is MeteredEntry {
  return entry.status === 'metered' && !!entry.projectId && !!entry.since;
}

/** An entry's billed start; only an entry that was never metered has none, and has nothing to bill. */
function sinceOf(entry: SubscriptionEntry): string {
  if (!entry.since) {
    const { tenantApiKey: tenant, accountId, subscriptionId } = entry;
    throw new SyncInvariantError(`subscription ${subscriptionId} has no billed start: it is not metered`, {
      ids: { tenant, accountId, subscriptionId },
    });
  }
  return entry.since;
}

/** The billing cycle of a metered entry (Kill Bill's usage periods, and so its windows). */
export function cycleOfEntry(entry: SubscriptionEntry, tzMode: UsageTzMode): BillingCycle {
  return billingCycleOf({ ...entry, since: sinceOf(entry) }, tzMode);
}

/** The span a metered entry is billed over: from its start to its cancellation, open while it runs. */
export function spanOf(entry: SubscriptionEntry): SubscriptionSpan {
  return { start: new Date(sinceOf(entry)), end: entry.until ? new Date(entry.until) : null };
}
