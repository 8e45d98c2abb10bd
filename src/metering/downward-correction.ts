import type { Cents } from './cents.js';
import type { BillingPeriod } from './billing-period.js';
import type { PlannedWindowRecord, UnitType } from './correction.js';
import { formatCreditDescription } from './credit-description.js';
import type { SubscriptionSpan } from './subscription-span.js';
import { formatTrackingId } from './tracking-id.js';
import { buildUsageRecord, type SubscriptionUsageRecordJson } from './usage-record.js';
import type { WindowSize } from './window.js';

/**
 * Whether Kill Bill may already have invoiced the subscription's usage of `period`. In-arrear usage is
 * invoiced once the period ends, and a cancellation inside the period brings its invoice forward to the
 * cancellation; from then on a period total that drops below what was invoiced fails Kill Bill's invoice run
 * and parks the account (contract §3). "May" because the bridge cannot see whether the run happened yet: it
 * assumes the worst from the moment it could have.
 */
export function mayHaveBeenInvoiced(period: BillingPeriod, span: SubscriptionSpan, now: Date): boolean {
  const t = now.getTime();
  if (t >= period.end.getTime()) return true;
  const end = span.end?.getTime();
  return end !== undefined && end < period.end.getTime() && t >= end;
}

/** One account credit that stands in for negative usage: `cents` > 0 is the money given back. */
export interface PlannedCredit {
  readonly unitType: UnitType;
  readonly cents: Cents;
  /** Our idempotency key in Kill Bill: see credit-description.ts. */
  readonly description: string;
}

/** What one planned window record becomes in Kill Bill: usage (maybe none) and credits (maybe none). */
export interface WindowPosting {
  /** The usage record to post, without the credited units; null when nothing is left to post as usage. */
  readonly record: SubscriptionUsageRecordJson | null;
  readonly credits: PlannedCredit[];
}

export interface WindowPostingInput {
  readonly subscriptionId: string;
  readonly span: SubscriptionSpan;
  readonly windowSize: WindowSize;
  readonly planned: PlannedWindowRecord;
  /** {@link mayHaveBeenInvoiced} for the window's billing period. */
  readonly invoiced: boolean;
}

/**
 * Splits a planned record: in a period Kill Bill may have invoiced, every negative unit amount becomes a
 * credit of the same number of cents (the catalog prices one unit at one cent, so |Δ| units = |Δ| cents of
 * money); the rest stays usage. In the open period nothing is invoiced yet and the cumulative plan keeps the
 * period's sum ≥ 0, so negative usage is safe there and stays usage. The credit's key is the tracking id the
 * record of that window and revision has, so a retry after a crash finds the same key.
 */
export function planWindowPosting(input: WindowPostingInput): WindowPosting {
  const { planned } = input;
  const usage: Record<UnitType, Cents> = {};
  const credits: PlannedCredit[] = [];
  const trackingId = formatTrackingId({
    subscriptionId: input.subscriptionId,
    windowStart: planned.window.start,
    windowSize: input.windowSize,
    revision: planned.revision,
  });
  for (const unitType of Object.keys(planned.cents).sort()) {
    const cents = planned.cents[unitType] as Cents;
    if (input.invoiced && cents < 0) {
      credits.push({ unitType, cents: -cents, description: formatCreditDescription(trackingId, unitType) });
    } else if (cents !== 0) {
      usage[unitType] = cents;
    }
  }
  const record = buildUsageRecord({
    subscriptionId: input.subscriptionId,
    span: input.span,
    window: planned.window,
    windowSize: input.windowSize,
    revision: planned.revision,
    cents: usage,
  });
  return { record, credits };
}
