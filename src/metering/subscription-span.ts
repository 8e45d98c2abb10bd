import { InvalidInstantError } from '../errors/metering-errors.js';
import { assertValidInstant, type UsageWindow } from './window.js';

/**
 * The part of time a subscription is billed for: [start, end), end = null while it is not cancelled.
 * start may lie in the past (backdated subscriptions).
 */
export interface SubscriptionSpan {
  readonly start: Date;
  readonly end: Date | null;
}

/** The fields of Kill Bill's Subscription JSON (contract §4.3) that define the span. */
export interface SubscriptionDates {
  readonly startDate: string;
  readonly billingStartDate?: string | null;
  readonly cancelledDate?: string | null;
  readonly billingEndDate?: string | null;
}

/**
 * Span from Kill Bill's subscription JSON. Billing dates win over entitlement dates because usage is invoiced
 * by the billing events; Kill Bill rejects usage dated after the entitlement end, so the end is the earlier of
 * the two cancellation dates.
 */
export function spanFromSubscription(sub: SubscriptionDates): SubscriptionSpan {
  const start = parseInstant(sub.billingStartDate ?? sub.startDate, 'startDate');
  const ends = [sub.billingEndDate, sub.cancelledDate]
    .filter((d): d is string => typeof d === 'string' && d.length > 0)
    .map((d) => parseInstant(d, 'cancelledDate').getTime());
  const end = ends.length > 0 ? new Date(Math.min(...ends)) : null;
  if (end && end.getTime() < start.getTime())
    throw new InvalidInstantError('subscription ends before it starts');
  return { start, end };
}

function parseInstant(text: string, what: string): Date {
  const d = new Date(text);
  assertValidInstant(d, what);
  return d;
}

/**
 * Whether the window is billed to the subscription: it overlaps the span. CloudKitty cannot split its data
 * below a window, so the window in which the subscription starts or is cancelled is billed to it in full.
 */
export function windowOverlapsSpan(window: UsageWindow, span: SubscriptionSpan): boolean {
  const start = assertValidInstant(window.start, 'window start');
  const end = assertValidInstant(window.end, 'window end');
  if (end <= span.start.getTime()) return false;
  return span.end === null || start < span.end.getTime();
}

/**
 * The recordDate of a window's usage: inside the window and inside the span. Kill Bill answers 400 to a
 * recordDate after the cancellation, and a record before the subscription's start would fall outside its first
 * billing interval; so max(window.start, span.start), then at most span.end - 1 ms.
 */
export function recordDateFor(window: UsageWindow, span: SubscriptionSpan): Date {
  if (!windowOverlapsSpan(window, span)) {
    throw new InvalidInstantError('window does not overlap the subscription span');
  }
  let t = Math.max(window.start.getTime(), span.start.getTime());
  if (span.end !== null) t = Math.min(t, span.end.getTime() - 1);
  return new Date(t);
}
