import type { SubscriptionEntry } from './metered-subscription.js';
import type { RegistryStore } from './registry-store.js';

interface Snapshot {
  readAt: number;
  entries: Promise<Map<string, SubscriptionEntry>>;
}

/**
 * A tenant's registry read once and shared by the jobs of one sync run for a short while. A subscription's
 * entry carries conflicts and stack shares found over the whole tenant, so reading it means reading the
 * tenant's registry: one read per job made a tick of N subscriptions cost N² entry reads. The tick itself
 * planned from a reading of the same age, so a job sees nothing older than its run did.
 */
export class RegistrySnapshots {
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly store: RegistryStore,
    /** How long one reading serves. Default 60 s. */
    private readonly maxAgeMs = 60_000,
    /** Readings kept at once (runs and tenants in flight). Default 8. */
    private readonly keep = 8,
  ) {}

  async entry(tenant: string, run: string, subscriptionId: string): Promise<SubscriptionEntry | undefined> {
    const key = `${tenant}\0${run}`;
    let snapshot = this.snapshots.get(key);
    if (!snapshot || Date.now() - snapshot.readAt > this.maxAgeMs) {
      const entries = this.store
        .entries(tenant)
        .then((list) => new Map(list.map((e) => [e.subscriptionId, e])));
      snapshot = { readAt: Date.now(), entries };
      this.snapshots.delete(key);
      this.snapshots.set(key, snapshot);
      // A failed read is not kept: the next job (or this one's retry) reads again.
      entries.catch(() => this.snapshots.get(key) === snapshot && this.snapshots.delete(key));
      while (this.snapshots.size > this.keep) this.snapshots.delete(this.snapshots.keys().next().value!);
    }
    return (await snapshot.entries).get(subscriptionId);
  }
}
