import { InvalidBillingCycleError } from '../errors/metering-errors.js';
import { HOUR_MS } from './window.js';

/**
 * Time-zone arithmetic with Intl only (no tz library): the offset of an IANA zone at an instant, and the UTC
 * instant at which a local calendar day starts. Fixed offsets such as "+05:30" are accepted as well.
 */

export interface LocalDate {
  readonly year: number;
  /** 1–12 */
  readonly month: number;
  /** 1–31 */
  readonly day: number;
}

const FIXED_OFFSET = /^([+-])(\d{2}):?(\d{2})$/;
const formatters = new Map<string, Intl.DateTimeFormat>();
/** Offsets already worked out, by zone and whole second; forgotten all at once when full. */
const offsets = new Map<string, number>();
const MAX_REMEMBERED_OFFSETS = 100_000;

function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new InvalidBillingCycleError(`unknown time zone: ${JSON.stringify(zone)}`);
    }
    formatters.set(zone, f);
  }
  return f;
}

/** Throws InvalidBillingCycleError unless the zone is a known IANA zone or a ±HH:MM offset. */
export function assertTimeZone(zone: string): void {
  if (typeof zone !== 'string' || zone.length === 0) throw new InvalidBillingCycleError('time zone missing');
  if (!FIXED_OFFSET.test(zone)) formatterFor(zone);
}

/** Offset of the zone from UTC at the instant, in ms (e.g. -4h for New York in summer). */
export function zoneOffsetMs(zone: string, instantMs: number): number {
  const fixed = FIXED_OFFSET.exec(zone);
  if (fixed) {
    const sign = fixed[1] === '-' ? -1 : 1;
    return sign * (Number(fixed[2]) * HOUR_MS + Number(fixed[3]) * 60_000);
  }
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  const key = `${zone}\n${wholeSecond}`;
  const known = offsets.get(key);
  if (known !== undefined) return known;
  // A sync asks the same few instants (window and period boundaries) for every subscription.
  if (offsets.size >= MAX_REMEMBERED_OFFSETS) offsets.clear();
  const offset = formattedOffsetMs(zone, wholeSecond);
  offsets.set(key, offset);
  return offset;
}

/** The offset as Intl formats the instant: the slowest step of planning a window, hence the memo above. */
function formattedOffsetMs(zone: string, wholeSecond: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(zone).formatToParts(new Date(wholeSecond))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(
    parts.year as number,
    (parts.month as number) - 1,
    parts.day as number,
    parts.hour as number,
    parts.minute as number,
    parts.second as number,
  );
  return asUtc - wholeSecond;
}

/** The local calendar date of an instant in the zone. */
export function localDateOf(zone: string, instantMs: number): LocalDate {
  const d = new Date(instantMs + zoneOffsetMs(zone, instantMs));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The UTC instant at which the local day starts, the way Kill Bill's usage code computes it
 * (UsageClockUtil.toDateTimeAtStartOfDay): take the zone's offset at the start of that day and place local
 * midnight at that offset. Normally that is plain local midnight; if midnight is skipped by a DST jump, the
 * offset after the jump is used; if midnight occurs twice, the first one.
 */
export function startOfLocalDay(zone: string, date: LocalDate): number {
  const localMidnight = Date.UTC(date.year, date.month - 1, date.day);
  const candidates = [-14, 0, 14].map((h) => zoneOffsetMs(zone, localMidnight + h * HOUR_MS));
  const valid = [...new Set(candidates)]
    .map((offset) => localMidnight - offset)
    .filter((t) => localMidnight - zoneOffsetMs(zone, t) === t);
  if (valid.length > 0) return Math.min(...valid);
  // Midnight falls in a gap: the day starts at the transition, whose offset is the one after the jump.
  const before = zoneOffsetMs(zone, localMidnight - 14 * HOUR_MS);
  return localMidnight - zoneOffsetMs(zone, localMidnight - before);
}

/** Number of days in a month (month 1–12). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Formats a fixed offset in ms as "+HH:MM" (used for Kill Bill's FIXED usage time-zone mode). */
export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const abs = Math.abs(offsetMs) / 60_000;
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${sign}${hh}:${mm}`;
}
