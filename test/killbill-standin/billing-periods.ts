import { addDays, billCycleDate, type LocalDate } from './joda-time.js';

/**
 * Billing periods aligned on the bill-cycle day (ACCOUNT billing alignment): boundaries fall on the BCD
 * (clamped to short months) every N months, starting with the first one on or after the billing start.
 */

const MONTHS: Record<string, number> = {
  MONTHLY: 1,
  BIMESTRIAL: 2,
  QUARTERLY: 3,
  TRIANNUAL: 4,
  BIANNUAL: 6,
  ANNUAL: 12,
  SESQUIENNIAL: 18,
  BIENNIAL: 24,
  TRIENNIAL: 36,
};

/** Month-based periods only; day/week-based ones are outside what the stand-in bills. */
export function monthsIn(billingPeriod: string): number | null {
  return MONTHS[billingPeriod] ?? null;
}

export interface BillingInterval {
  start: LocalDate;
  end: LocalDate;
}

function boundary(billingStart: LocalDate, bcd: number, months: number, k: number): LocalDate {
  let anchorOffset = 0;
  if (billCycleDate(billingStart, 0, bcd) < billingStart) anchorOffset = 1;
  return billCycleDate(billingStart, anchorOffset + k * months, bcd);
}

/**
 * The interval whose end is the first boundary on or after `date` (an invoice dated on a boundary bills
 * the period that just ended). The first interval starts at the billing start and may be short.
 */
export function intervalEndingOnOrAfter(
  date: LocalDate,
  billingStart: LocalDate,
  bcd: number,
  months: number,
): BillingInterval {
  let k = 0;
  let end = boundary(billingStart, bcd, months, k);
  while (end < date || end <= billingStart) end = boundary(billingStart, bcd, months, ++k);
  const previous = k === 0 ? billingStart : boundary(billingStart, bcd, months, k - 1);
  return { start: previous < billingStart ? billingStart : previous, end };
}

/** The interval in progress on `date`: it started on or before that day and ends after it. */
export function intervalContaining(
  date: LocalDate,
  billingStart: LocalDate,
  bcd: number,
  months: number,
): BillingInterval {
  return intervalEndingOnOrAfter(
    date < billingStart ? billingStart : addDays(date, 1),
    billingStart,
    bcd,
    months,
  );
}

/** The full period following an interval, used for recurring charges billed in advance. */
export function followingInterval(interval: BillingInterval, bcd: number, months: number): BillingInterval {
  return { start: interval.end, end: billCycleDate(interval.end, months, bcd) };
}

/** The full-length period that ends at `end`, to prorate a short first interval against. */
export function fullIntervalEndingAt(end: LocalDate, bcd: number, months: number): BillingInterval {
  return { start: billCycleDate(end, -months, bcd), end };
}
