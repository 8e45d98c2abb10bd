/**
 * Kill Bill talks Joda-Time: `DateTime` instants written as `2024-01-15T10:00:00.000Z` and `LocalDate`s
 * written as `2024-01-15`, interpreted in the account's time zone. Local dates are kept as those
 * `YYYY-MM-DD` strings so they compare correctly as strings.
 */

export type LocalDate = string;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Jackson's Joda serializer: UTC with milliseconds. */
export function formatDateTime(instant: Date): string {
  return instant.toISOString();
}

/**
 * Joda's `ISODateTimeFormat.dateTimeParser()` as Kill Bill uses it: a bare date is midnight UTC, a
 * date-time without a zone is UTC, an offset is honoured. Returns null for text Joda would reject.
 */
export function parseDateTime(text: string): Date | null {
  const date = DATE_ONLY.exec(text);
  if (date) return validDate(Number(date[1]), Number(date[2]), Number(date[3]), 0);
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [hours, minutes, seconds] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  const millis = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const base = validDate(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis,
  );
  if (!base) return null;
  const zone = m[8];
  if (!zone || zone === 'Z') return base;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4));
  return new Date(base.getTime() - sign * offsetMinutes * 60_000);
}

export function parseLocalDate(text: string): LocalDate | null {
  const m = DATE_ONLY.exec(text);
  if (!m) return null;
  return validDate(Number(m[1]), Number(m[2]), Number(m[3]), 0) ? text : null;
}

function validDate(year: number, month: number, day: number, msOfDay: number): Date | null {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return new Date(Date.UTC(year, month - 1, day) + msOfDay);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClockParts(instant: Date, zone: string): number[] {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  const parts: Record<string, number> = {};
  for (const p of formatter.formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return [parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!];
}

/** How far the zone's wall clock is ahead of UTC at that instant. */
function offsetMs(instant: Date, zone: string): number {
  const [y, mo, d, h, mi, s] = wallClockParts(instant, zone) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  return wall - (instant.getTime() - instant.getUTCMilliseconds());
}

export function localDateIn(instant: Date, zone: string): LocalDate {
  const [y, mo, d] = wallClockParts(instant, zone) as [number, number, number];
  return `${String(y).padStart(4, '0')}-${pad2(mo)}-${pad2(d)}`;
}

/** Milliseconds since local midnight, used to carry an account's reference time of day. */
export function timeOfDayIn(instant: Date, zone: string): number {
  const midnight = localInstant(localDateIn(instant, zone), 0, zone);
  return instant.getTime() - midnight.getTime();
}

/** The instant at which the zone's wall clock shows that date and time of day. */
export function localInstant(date: LocalDate, msOfDay: number, zone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d) + msOfDay;
  const first = wall - offsetMs(new Date(wall), zone);
  return new Date(wall - offsetMs(new Date(first), zone));
}

export function startOfDayIn(date: LocalDate, zone: string): Date {
  return localInstant(date, 0, zone);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function dayOfMonth(date: LocalDate): number {
  return Number(date.slice(8, 10));
}

/** The date in the month `months` away whose day is the bill-cycle day, clamped to short months. */
export function billCycleDate(date: LocalDate, months: number, billCycleDay: number): LocalDate {
  const [y, m] = date.split('-').map(Number) as [number, number];
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  const day = Math.min(billCycleDay, daysInMonth(year, month));
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export function daysBetween(from: LocalDate, to: LocalDate): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}
