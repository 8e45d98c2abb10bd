import type { SubscriptionEntry } from './metered-subscription.js';

/**
 * One instance of each value many entries repeat (the tenant, start dates, time zone, the units and their
 * names, empty lists): a sync holds every entry of the tenant at once, and at 100,000 entries the copies
 * JSON.parse makes were about 20 MB of its live heap (BENCHMARKS.md). Entries are never changed in place.
 * A tenant reading (tenant-reading.ts) keeps its field names, flags, states and dates through it too.
 */
export class SharedValues {
  private readonly strings = new Map<string, string>();
  private readonly units = new Map<string, Record<string, string>>();
  /** Frozen: a push onto what every entry shares throws instead of changing them all. */
  private readonly empty = Object.freeze([]) as unknown as never[];

  entry(e: SubscriptionEntry): SubscriptionEntry {
    e.tenantApiKey = this.string(e.tenantApiKey);
    e.status = this.string(e.status) as SubscriptionEntry['status'];
    e.timeZone = this.string(e.timeZone);
    if (e.since) e.since = this.string(e.since);
    if (e.until) e.until = this.string(e.until);
    if (e.referenceTime) e.referenceTime = this.string(e.referenceTime);
    if (e.unmetered.length === 0) e.unmetered = this.empty;
    if (e.reasons.length === 0) e.reasons = this.empty;
    const key = JSON.stringify(e.units);
    const units = this.units.get(key);
    if (units) e.units = units;
    else this.units.set(key, Object.freeze(e.units));
    return e;
  }

  /** The instance of `s` this reading keeps. */
  string(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    this.strings.set(s, s);
    return s;
  }
}
