import { sumRates, type Cents, type RateInput } from './cents.js';
import { type PlannedWindowRecord, type UnitType } from './correction.js';
import { InvalidPeriodInputError, UnsafeCentsError } from './errors.js';
import { recordDateFor, type SubscriptionSpan } from './subscription-span.js';
import { formatTrackingId } from './tracking-id.js';
import { type UsageWindow, type WindowSize } from './window.js';

/** CloudKitty metric type (summary `type`), e.g. `instance`. */
export type MetricType = string;

/** Which Kill Bill unit a CloudKitty metric's money is recorded under. An input; this is the default. */
export const DEFAULT_METRIC_UNITS: Readonly<Record<MetricType, UnitType>> = Object.freeze({
  instance: 'openstack-billed-instance',
  vcpus: 'openstack-billed-vcpus',
});

/**
 * Re-keys CloudKitty's rates per metric to rates per Kill Bill unit. Metrics without a mapping are not billed
 * and are returned separately so the caller can log them; rates of metrics mapped to one unit are added
 * exactly (the result is a decimal string).
 */
export function ratesByUnit(
  ratesByMetric: Readonly<Record<MetricType, RateInput>>,
  mapping: Readonly<Record<MetricType, UnitType>> = DEFAULT_METRIC_UNITS,
): { rates: Record<UnitType, string>; unmapped: MetricType[] } {
  const grouped: Record<UnitType, RateInput[]> = {};
  const unmapped: MetricType[] = [];
  for (const [metric, rate] of Object.entries(ratesByMetric)) {
    const unit = Object.prototype.hasOwnProperty.call(mapping, metric) ? mapping[metric] : undefined;
    if (unit === undefined) {
      unmapped.push(metric);
      continue;
    }
    (grouped[unit] ??= []).push(rate);
  }
  const rates: Record<UnitType, string> = {};
  for (const [unit, list] of Object.entries(grouped)) rates[unit] = sumRates(list).toString();
  return { rates, unmapped };
}

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

/** Turns a period plan's records into Kill Bill JSON for one subscription. */
export function buildUsageRecords(
  planned: readonly PlannedWindowRecord[],
  subscriptionId: string,
  span: SubscriptionSpan,
  windowSize: WindowSize,
): SubscriptionUsageRecordJson[] {
  return planned
    .map((p) =>
      buildUsageRecord({
        subscriptionId,
        span,
        window: p.window,
        windowSize,
        revision: p.revision,
        cents: p.cents,
      }),
    )
    .filter((r): r is SubscriptionUsageRecordJson => r !== null);
}
