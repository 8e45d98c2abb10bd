import { billingPeriodBoundariesBetween, type BillingCycle } from './billing-period.js';
import {
  alignWindowStart,
  assertValidInstant,
  windowsBetween,
  type UsageWindow,
  type WindowSize,
} from './window.js';

/**
 * The windows the bridge meters for an account between two instants: the epoch-aligned grid split at the
 * account's billing-period boundaries. Boundaries are looked up over whole grid cells (not just [from, to)),
 * so a cell that straddles a boundary just outside the range is split the same way in every run.
 */
export function billingWindowsBetween(
  from: Date,
  to: Date,
  size: WindowSize,
  cycle: BillingCycle,
): UsageWindow[] {
  const firstCell = alignWindowStart(from, size).getTime();
  assertValidInstant(to, 'to');
  const lastCellEnd = Math.max(alignWindowStart(to, size).getTime() + size.ms, firstCell);
  const boundaries = billingPeriodBoundariesBetween(new Date(firstCell), new Date(lastCellEnd), cycle);
  return windowsBetween(from, to, size, boundaries);
}
