import type { BillingCycle, UsageTzMode } from './billing-period.js';
import { InvalidBillingCycleError } from '../errors/metering-errors.js';
import { zoneOffsetMs } from './time-zone.js';

/** What Kill Bill derives a subscription's usage periods from, as the registry keeps it. */
export interface BillingCycleSource {
  /** The subscription's bill-cycle day, or 0 when Kill Bill has not set one yet. */
  readonly billCycleDay: number;
  readonly timeZone: string;
  /** The account's referenceTime (ISO), or null when the registry did not read it. */
  readonly referenceTime: string | null;
  /** Start of the billed span (ISO). */
  readonly since: string;
}

/**
 * The billing cycle Kill Bill uses for a subscription's usage, in the server's tz mode. Kill Bill sets the
 * bill-cycle day with the account's first subscription; until the registry has read it, the start day
 * is the one it picks.
 */
export function billingCycleOf(source: BillingCycleSource, tzMode: UsageTzMode): BillingCycle {
  const since = new Date(source.since);
  const day = source.billCycleDay > 0 ? source.billCycleDay : since.getUTCDate();
  const timeZone = source.timeZone || 'UTC';
  // Neither needs the reference time: VARIABLE follows the zone's own offsets, UTC ignores them.
  if (tzMode === 'VARIABLE' || tzMode === 'UTC') return { billCycleDay: day, timeZone, tzMode };
  if (source.referenceTime) {
    return { billCycleDay: day, timeZone, tzMode, referenceTime: new Date(source.referenceTime) };
  }
  // Without the reference time only a zone whose offset never changes gives the same periods.
  const yearStart = Date.UTC(since.getUTCFullYear(), 0, 1);
  const midYear = Date.UTC(since.getUTCFullYear(), 6, 1);
  if (zoneOffsetMs(timeZone, yearStart) !== zoneOffsetMs(timeZone, midYear)) {
    throw new InvalidBillingCycleError(
      `the account's reference time is unknown and ${timeZone} changes its offset over the year; ` +
        'run `bridge registry sync` so the registry reads it',
    );
  }
  return { billCycleDay: day, timeZone, tzMode, referenceTime: since };
}
