import { InvalidInstantError, InvalidWindowSizeError } from '../errors/metering-errors.js';

/**
 * A usage window: UTC, half-open [start, end). Windows sit on a grid of multiples of the window size counted
 * from the Unix epoch, except that a grid cell crossing a Kill Bill billing-period boundary is split there into
 * two windows, so every window belongs to exactly one billing period.
 */
export interface UsageWindow {
  readonly start: Date;
  readonly end: Date;
}

/** A window size: milliseconds plus a canonical label used in tracking ids (`1h`, `30m`, `1d`). */
export interface WindowSize {
  readonly ms: number;
  readonly label: string;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

const SHORT_SIZE = /^(\d+)\s*(m|min|h|d)$/i;
const ISO_SIZE = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/i;

/**
 * Reads a window size given as milliseconds, as a short string (`15m`, `1h`, `1d`) or as an ISO-8601 duration
 * (`PT1H`, `P1D`). It must be a whole number of minutes (tracking ids carry minute precision) and divide a day,
 * so that the epoch-aligned grid lines up with every UTC midnight.
 */
export function parseWindowSize(input: string | number): WindowSize {
  const ms = typeof input === 'number' ? input : parseSizeText(input);
  if (!Number.isSafeInteger(ms) || ms <= 0)
    throw new InvalidWindowSizeError(`window size must be positive: ${input}`);
  if (ms % MINUTE_MS !== 0) throw new InvalidWindowSizeError(`window size must be whole minutes: ${input}`);
  if (DAY_MS % ms !== 0) throw new InvalidWindowSizeError(`window size must divide a day: ${input}`);
  return { ms, label: formatWindowSize(ms) };
}

function parseSizeText(text: string): number {
  const t = text.trim();
  const short = SHORT_SIZE.exec(t);
  if (short) {
    const n = Number(short[1]);
    const unit = (short[2] as string).toLowerCase();
    return n * (unit === 'd' ? DAY_MS : unit === 'h' ? HOUR_MS : MINUTE_MS);
  }
  const iso = ISO_SIZE.exec(t);
  if (iso && t.toUpperCase() !== 'P' && t.toUpperCase() !== 'PT') {
    const [, d, h, m] = iso;
    return Number(d ?? 0) * DAY_MS + Number(h ?? 0) * HOUR_MS + Number(m ?? 0) * MINUTE_MS;
  }
  if (/^\d+$/.test(t)) return Number(t);
  throw new InvalidWindowSizeError(`unreadable window size: ${JSON.stringify(text)}`);
}

/** The canonical label: days if whole days, else hours if whole hours, else minutes. */
export function formatWindowSize(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  return `${ms / MINUTE_MS}m`;
}

/** The default: one hour, CloudKitty's usual collect period. */
export function assertValidInstant(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(t)) throw new InvalidInstantError(`${what} is not a valid instant`);
  return t;
}

/** The start of the grid cell containing the instant (floor to a multiple of the size since the epoch). */
export function alignWindowStart(instant: Date, size: WindowSize): Date {
  const t = assertValidInstant(instant, 'instant');
  return new Date(t - mod(t, size.ms));
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/**
 * Splits one window at every boundary strictly inside it. Boundaries need not be sorted; the parts are returned
 * in time order and together cover the window exactly.
 */
export function splitWindowAtBoundaries(window: UsageWindow, boundaries: readonly Date[]): UsageWindow[] {
  const start = window.start.getTime();
  const end = window.end.getTime();
  const cuts = [...new Set(boundaries.map((b) => b.getTime()))]
    .filter((b) => b > start && b < end)
    .sort((a, b) => a - b);
  const points = [start, ...cuts, end];
  const parts: UsageWindow[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    parts.push({ start: new Date(points[i] as number), end: new Date(points[i + 1] as number) });
  }
  return parts;
}

/**
 * Every window (grid cells split at the given billing-period boundaries) that intersects [from, to), in time
 * order. Windows are not clipped to from/to: the partition of time into windows depends only on the size and
 * the boundaries, so two runs over overlapping ranges produce the same windows.
 */
export function windowsBetween(
  from: Date,
  to: Date,
  size: WindowSize,
  boundaries: readonly Date[] = [],
): UsageWindow[] {
  const f = assertValidInstant(from, 'from');
  const t = assertValidInstant(to, 'to');
  if (t < f) throw new InvalidInstantError('range ends before it starts');
  const result: UsageWindow[] = [];
  for (let cell = f - mod(f, size.ms); cell < t; cell += size.ms) {
    const cellWindow = { start: new Date(cell), end: new Date(cell + size.ms) };
    for (const part of splitWindowAtBoundaries(cellWindow, boundaries)) {
      if (part.end.getTime() > f && part.start.getTime() < t) result.push(part);
    }
  }
  return result;
}
