import { type Cents } from './cents.js';
import { type UnitType } from './correction.js';
import { InvalidPeriodInputError, UnsafeCentsError } from '../errors/metering-errors.js';
import { recordDateFor, type SubscriptionSpan } from './subscription-span.js';
import { formatTrackingId } from './tracking-id.js';
import { type UsageWindow, type WindowSize } from './window.js';

/** CloudKitty metric type (summary `type`), e.g. `instance`. */
export type MetricType = string;

/** Kill Bill's SubscriptionUsageRecord JSON (POST /1.0/kb/usages), as the bridge sends it. */
export interface UsageRecordJson {
  readonly recordDate: string;
  readonly amount: number;
}
export interface UnitUsageRecordJson {
  readonly unitType: UnitType;
  readonly usageRecords: UsageRecordJson[];
}
export interface SubscriptionUsageRecordJson {
  readonly subscriptionId: string;
  readonly trackingId: string;
  readonly unitUsageRecords: UnitUsageRecordJson[];
}

export interface UsageRecordInput {
  readonly subscriptionId: string;
  readonly span: SubscriptionSpan;
  readonly window: UsageWindow;
  readonly windowSize: WindowSize;
  readonly revision: number;
  /** Cents per Kill Bill unit; zero units are left out. */
  readonly cents: Readonly<Record<UnitType, Cents>>;
}

/**
 * Builds the one record of a window (both units in it, one tracking id), or null when every unit is 0: a zero
 * window records nothing (Kill Bill needs at least one usage record per unit entry, and a 0 would be noise).
 * recordDate lies inside the window and inside the subscription's span.
 */
export function buildUsageRecord(input: UsageRecordInput): SubscriptionUsageRecordJson | null {
  const units = Object.keys(input.cents).sort();
  const recordDate = recordDateFor(input.window, input.span).toISOString();
  const unitUsageRecords: UnitUsageRecordJson[] = [];
  for (const unitType of units) {
    const amount = input.cents[unitType] as Cents;
    if (!Number.isSafeInteger(amount)) throw new UnsafeCentsError(`${unitType}: not whole cents: ${amount}`);
    if (amount === 0) continue;
    if (unitType.length === 0) throw new InvalidPeriodInputError('empty unit type');
    unitUsageRecords.push({ unitType, usageRecords: [{ recordDate, amount }] });
  }
  if (unitUsageRecords.length === 0) return null;
  const trackingId = formatTrackingId({
    subscriptionId: input.subscriptionId,
    windowStart: input.window.start,
    windowSize: input.windowSize,
    revision: input.revision,
  });
  return { subscriptionId: input.subscriptionId, trackingId, unitUsageRecords };
}
