import { InvalidBillingCycleError, InvalidInstantError } from '../errors/metering-errors.js';
import {
  assertTimeZone,
  daysInMonth,
  formatOffset,
  localDateOf,
  startOfLocalDay,
  zoneOffsetMs,
} from './time-zone.js';
import { assertValidInstant } from './window.js';

/**
 * Kill Bill's monthly usage billing periods for an account: each starts on the bill-cycle day (the month's last
 * day when the month is shorter) at the start of the local day, and ends where the next one starts.
 *
 * Which "local" depends on Kill Bill's `org.killbill.invoice.usage.tz.mode` (InvoiceConfig, since the fix of
 * killbill#1934): VARIABLE uses the account's IANA zone with its DST offset on that date; FIXED (Kill Bill's
 * DEFAULT) uses one fixed offset, the zone's offset at the account's referenceTime, all year round. The two
 * differ by the DST shift for half the year, so the bridge must use the mode the server is configured with.
 *
 * UTC is what servers without that setting do: Kill Bill 0.24.0–0.24.3 start the period at midnight UTC of the
 * bill-cycle date; Kill Bill 0.22 takes a usage recordDate as a plain date and compares dates only, so a record
 * dated by its UTC day (as the tests' 0.22 shim dates it) lands by the same rule.
 */
export type UsageTzMode = 'VARIABLE' | 'FIXED' | 'UTC';

export interface BillingCycle {
  /** Account billCycleDayLocal (subscription.billCycleDayLocal with ACCOUNT billing alignment), 1–31. */
  readonly billCycleDay: number;
  /** Account timeZone (IANA id such as "Europe/London", or "UTC"). */
  readonly timeZone: string;
  /** Default VARIABLE (local midnight with DST). Use FIXED with referenceTime to match a default Kill Bill. */
  readonly tzMode?: UsageTzMode;
  /** Account referenceTime; required for FIXED. */
  readonly referenceTime?: Date;
}

/** A billing period, UTC, half-open [start, end). */
export interface BillingPeriod {
  readonly start: Date;
  readonly end: Date;
}

interface ResolvedCycle {
  readonly bcd: number;
  /** The zone used for local dates: the IANA zone (VARIABLE) or a fixed "+HH:MM" offset (FIXED). */
  readonly zone: string;
}

function resolveCycle(cycle: BillingCycle): ResolvedCycle {
  const bcd = cycle.billCycleDay;
  if (!Number.isInteger(bcd) || bcd < 1 || bcd > 31) {
    throw new InvalidBillingCycleError(`bill-cycle day must be 1–31: ${bcd}`);
  }
  assertTimeZone(cycle.timeZone);
  const mode = cycle.tzMode ?? 'VARIABLE';
  if (mode === 'VARIABLE') return { bcd, zone: cycle.timeZone };
  // The bill-cycle date is still the account's (Kill Bill derives it locally); only its start instant is UTC.
  if (mode === 'UTC') return { bcd, zone: '+00:00' };
  if (mode !== 'FIXED') throw new InvalidBillingCycleError(`unknown usage tz mode: ${String(mode)}`);
  if (!cycle.referenceTime)
    throw new InvalidBillingCycleError('FIXED tz mode needs the account referenceTime');
  const ref = assertValidInstant(cycle.referenceTime, 'referenceTime');
  return { bcd, zone: formatOffset(zoneOffsetMs(cycle.timeZone, ref)) };
}

/** Boundaries already worked out, by zone, bill-cycle day and month; forgotten all at once when full. */
const boundaries = new Map<string, number>();
const MAX_REMEMBERED_BOUNDARIES = 100_000;

/**
 * Months are counted as year * 12 + (month - 1) to step across years easily. Remembered: a sync asks the same
 * few boundaries for every subscription of a tenant.
 */
function boundaryOfMonth(c: ResolvedCycle, monthIndex: number): number {
  const key = `${c.zone}\n${c.bcd}\n${monthIndex}`;
  let boundary = boundaries.get(key);
  if (boundary === undefined) {
    if (boundaries.size >= MAX_REMEMBERED_BOUNDARIES) boundaries.clear();
    boundary = computedBoundaryOfMonth(c, monthIndex);
    boundaries.set(key, boundary);
  }
  return boundary;
}

function computedBoundaryOfMonth(c: ResolvedCycle, monthIndex: number): number {
  const year = Math.floor(monthIndex / 12);
  const month = (monthIndex % 12) + 1;
  const day = Math.min(c.bcd, daysInMonth(year, month));
  return startOfLocalDay(c.zone, { year, month, day });
}

function monthIndexContaining(c: ResolvedCycle, t: number): number {
  const local = localDateOf(c.zone, t);
  let m = local.year * 12 + (local.month - 1);
  // The local month is the right one or its neighbour; step until boundary(m) <= t < boundary(m + 1).
  while (t < boundaryOfMonth(c, m)) m--;
  while (t >= boundaryOfMonth(c, m + 1)) m++;
  return m;
}

/** The billing period containing the instant. */
export function billingPeriodContaining(instant: Date, cycle: BillingCycle): BillingPeriod {
  const c = resolveCycle(cycle);
  const t = assertValidInstant(instant, 'instant');
  const m = monthIndexContaining(c, t);
  return { start: new Date(boundaryOfMonth(c, m)), end: new Date(boundaryOfMonth(c, m + 1)) };
}

/** The period `offset` periods after (positive) or before (negative) the one containing the instant. */
export function billingPeriodRelativeTo(instant: Date, offset: number, cycle: BillingCycle): BillingPeriod {
  const c = resolveCycle(cycle);
  const m = monthIndexContaining(c, assertValidInstant(instant, 'instant')) + offset;
  return { start: new Date(boundaryOfMonth(c, m)), end: new Date(boundaryOfMonth(c, m + 1)) };
}

/** Every period boundary b with from <= b <= to, in order. */
export function billingPeriodBoundariesBetween(from: Date, to: Date, cycle: BillingCycle): Date[] {
  const c = resolveCycle(cycle);
  const f = assertValidInstant(from, 'from');
  const t = assertValidInstant(to, 'to');
  if (t < f) throw new InvalidInstantError('range ends before it starts');
  const result: Date[] = [];
  let m = monthIndexContaining(c, f);
  for (let b = boundaryOfMonth(c, m); b <= t; b = boundaryOfMonth(c, ++m)) {
    if (b >= f) result.push(new Date(b));
  }
  return result;
}

/** The late-usage horizon: by default the current and the previous billing period. */
export const DEFAULT_HORIZON_PERIODS = 2;

/**
 * Whether a period is still inside the late-usage horizon at `now`: it is one of the last `periods` periods
 * (the current one included). Kill Bill reads raw usage back only `org.killbill.invoice.readMaxRawUsagePreviousPeriod`
 * periods (default 2), so a record older than that would never be invoiced; the bridge reports such differences instead.
 */
export function isWithinLateUsageHorizon(
  period: BillingPeriod,
  now: Date,
  cycle: BillingCycle,
  periods: number = DEFAULT_HORIZON_PERIODS,
): boolean {
  if (!Number.isInteger(periods) || periods < 1)
    throw new InvalidBillingCycleError(`horizon must be >= 1: ${periods}`);
  const oldest = billingPeriodRelativeTo(now, -(periods - 1), cycle);
  return period.start.getTime() >= oldest.start.getTime();
}

/**
 * The account-local calendar date (YYYY-MM-DD) of an instant, in the zone the cycle's periods are cut in:
 * Kill Bill dates invoice items in it, so a period's items are found by the local date of its start.
 */
export function localDateInCycle(instant: Date, cycle: BillingCycle): string {
  const d = localDateOf(resolveCycle(cycle).zone, assertValidInstant(instant, 'instant'));
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}
