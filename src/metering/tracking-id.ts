import { InvalidTrackingIdError } from '../errors/metering-errors.js';
import { MINUTE_MS, assertValidInstant, parseWindowSize, type WindowSize } from './window.js';

/**
 * Deterministic Kill Bill tracking ids: `osb1:<subscriptionId>:<YYYYMMDDTHHmmZ>:<size>:r<revision>`.
 * Kill Bill deduplicates on (tenant, subscription, trackingId), so a retried POST of the same window and
 * revision is answered 400/50000 and recorded once. Revision 0 is a window's first record; 1, 2, … are its
 * corrections. Split windows are told apart by their start. The `osb1` prefix lets the sync recognise (and
 * version) its own ids; the column is varchar(128), so ids are checked against that.
 */
export const TRACKING_ID_PREFIX = 'osb1';
export const MAX_TRACKING_ID_LENGTH = 128;

export interface TrackingIdParts {
  readonly subscriptionId: string;
  /** Start of the (possibly split) window; whole minutes. */
  readonly windowStart: Date;
  /** The configured window size the sync ran with. */
  readonly windowSize: WindowSize;
  /** 0 = first record, 1.. = corrections. */
  readonly revision: number;
}

const SUBSCRIPTION_ID = /^[A-Za-z0-9-]{1,64}$/;
const TRACKING_ID = /^osb1:([A-Za-z0-9-]{1,64}):(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z:(\d+[mhd]):r(\d{1,9})$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Formats a window start as YYYYMMDDTHHmmZ (UTC, minute precision). */
export function formatWindowStamp(instant: Date): string {
  const t = assertValidInstant(instant, 'window start');
  if (t % MINUTE_MS !== 0) throw new InvalidTrackingIdError('window start must be a whole minute');
  const d = new Date(t);
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw new InvalidTrackingIdError('window start year out of range');
  return `${pad(year, 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
}

export function formatTrackingId(parts: TrackingIdParts): string {
  if (!SUBSCRIPTION_ID.test(parts.subscriptionId)) {
    throw new InvalidTrackingIdError(
      `subscription id not usable in a tracking id: ${JSON.stringify(parts.subscriptionId)}`,
    );
  }
  if (!Number.isInteger(parts.revision) || parts.revision < 0 || parts.revision > 999_999_999) {
    throw new InvalidTrackingIdError(`revision must be an integer 0–999999999: ${parts.revision}`);
  }
  const id = `${TRACKING_ID_PREFIX}:${parts.subscriptionId}:${formatWindowStamp(parts.windowStart)}:${parts.windowSize.label}:r${parts.revision}`;
  // Unreachable with the checks above (≤ 96 chars), kept so a future format change cannot exceed the column.
  if (id.length > MAX_TRACKING_ID_LENGTH)
    throw new InvalidTrackingIdError(`tracking id longer than 128: ${id}`);
  return id;
}

/** Parses one of our tracking ids; null for anything else (ids written by other tools, or malformed). */
export function parseTrackingId(id: string): TrackingIdParts | null {
  const m = TRACKING_ID.exec(id);
  if (!m) return null;
  const [, subscriptionId, y, mo, d, h, mi, size, rev] = m as unknown as string[];
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi));
  const back = new Date(t);
  // Reject impossible stamps such as 20240230 that Date.UTC would silently roll over.
  const roundTrip = [
    back.getUTCFullYear(),
    back.getUTCMonth() + 1,
    back.getUTCDate(),
    back.getUTCHours(),
    back.getUTCMinutes(),
  ];
  if (roundTrip.join() !== [y, mo, d, h, mi].map(Number).join()) return null;
  let windowSize: WindowSize;
  try {
    windowSize = parseWindowSize(size as string);
  } catch {
    return null;
  }
  if (windowSize.label !== size) return null; // only canonical labels are ours, so an id has one spelling
  return { subscriptionId: subscriptionId as string, windowStart: back, windowSize, revision: Number(rev) };
}
