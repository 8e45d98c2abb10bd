import { formatCloudKittyTime } from '../../src/clients/openstack/cloudkitty-time.js';
import type { KeystoneSession } from '../../src/clients/openstack/keystone-session.js';
import {
  OpenStackHttp,
  type OpenStackHttpOptions,
  type OpenStackHttpRequest,
} from '../../src/clients/openstack/openstack-http.js';

/*
 * Rated usage as tests, the bench and the demo seed it into CloudKitty (`POST /v2/dataframes`, which the
 * bridge never calls: it only reads what cloudkitty-processor rated).
 */

/** One rated point as `POST /v2/dataframes` takes it. `price` is the price of the whole point. */
export interface DataframePoint {
  vol: { unit: string; qty: string };
  rating: { price: string };
  groupby: Record<string, string>;
  metadata: Record<string, string>;
}

/** One collect period's rated points, keyed by metric (which CloudKitty reports as `type`). */
export interface Dataframe {
  period: { begin: string; end: string };
  usage: Record<string, DataframePoint[]>;
}

/** Rated usage of one resource of one project for one period, e.g. one hour of one VM. */
export interface RatedUsage {
  /** Start of the period. */
  begin: Date;
  /** End of the period. Default: one hour after `begin`. */
  end?: Date;
  projectId: string;
  /** Metric name, e.g. `instance`, `vcpus`; summaries group it as `type`. */
  metric: string;
  /** Price of the whole point, as decimal text (`"0.05"`), never a float. */
  price: string;
  /** Quantity as decimal text. Default `"1"`. */
  qty?: string;
  /** Default: the metric name. */
  unit?: string;
  /** Resource id, the `id` groupby tag. Default `<projectId>-<metric>`. */
  resourceId?: string;
  /** More groupby tags, e.g. `{ user_id: 'u1' }`. */
  tags?: Record<string, string>;
  metadata?: Record<string, string>;
}

const HOUR_MS = 3_600_000;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Groups rated usage into CloudKitty dataframes: one per period, points grouped by metric, in the
 * order first seen. Refuses two points with the same period, metric and tags: InfluxDB would keep
 * only the last one, silently losing money.
 */
export function buildDataframes(usage: readonly RatedUsage[]): Dataframe[] {
  const frames = new Map<string, Dataframe>();
  const seen = new Set<string>();
  for (const u of usage) {
    const qty = u.qty ?? '1';
    if (!DECIMAL.test(u.price))
      throw new RangeError(`price must be decimal text, got ${JSON.stringify(u.price)}`);
    if (!DECIMAL.test(qty)) throw new RangeError(`qty must be decimal text, got ${JSON.stringify(qty)}`);
    const end = u.end ?? new Date(u.begin.getTime() + HOUR_MS);
    if (!(end.getTime() > u.begin.getTime())) throw new RangeError('a period must end after it begins');
    const period = { begin: formatCloudKittyTime(u.begin), end: formatCloudKittyTime(end) };
    const groupby = { ...u.tags, id: u.resourceId ?? `${u.projectId}-${u.metric}`, project_id: u.projectId };
    const identity = JSON.stringify([period.begin, u.metric, Object.entries(groupby).sort()]);
    if (seen.has(identity)) {
      throw new RangeError(
        `two points for ${u.metric} of ${groupby.id} in the period starting ${period.begin}`,
      );
    }
    seen.add(identity);
    const key = `${period.begin}/${period.end}`;
    let frame = frames.get(key);
    if (!frame) {
      frame = { period, usage: {} };
      frames.set(key, frame);
    }
    (frame.usage[u.metric] ??= []).push({
      vol: { unit: u.unit ?? u.metric, qty },
      rating: { price: u.price },
      groupby,
      metadata: { ...u.metadata },
    });
  }
  return [...frames.values()];
}

/** A day of hourly frames per request. */
const FRAMES_PER_REQUEST = 24;
/**
 * Most points in one request, so a seed's request stays the size of those the tests have always sent (an hour
 * of 100,000 projects is 200,000 points): a larger period goes in several frames of the same period. Whether
 * CloudKitty takes one frame that large was not tried: the 500 the 100,000 bench met was InfluxDB's
 * `max-values-per-tag` (scripts/cloudkitty/configs.sh).
 */
const POINTS_PER_REQUEST = 50_000;

const pointsOf = (frame: Dataframe) => Object.values(frame.usage).reduce((n, points) => n + points.length, 0);

/** The frame's points in frames of the same period of at most `max` points each. */
function splitFrame(frame: Dataframe, max: number): Dataframe[] {
  if (pointsOf(frame) <= max) return [frame];
  const parts: Dataframe[] = [];
  let part: Dataframe = { period: frame.period, usage: {} };
  let size = 0;
  for (const [metric, points] of Object.entries(frame.usage)) {
    for (let i = 0; i < points.length;) {
      if (size === max) {
        parts.push(part);
        part = { period: frame.period, usage: {} };
        size = 0;
      }
      const taken = points.slice(i, i + max - size);
      (part.usage[metric] ??= []).push(...taken);
      size += taken.length;
      i += taken.length;
    }
  }
  if (size > 0) parts.push(part);
  return parts;
}

/** The frames as requests: up to a day of them, and never more than POINTS_PER_REQUEST points. */
export function* requestsOf(dataframes: readonly Dataframe[]): Generator<Dataframe[]> {
  let batch: Dataframe[] = [];
  let points = 0;
  for (const frame of dataframes.flatMap((f) => splitFrame(f, POINTS_PER_REQUEST))) {
    const size = pointsOf(frame);
    if (batch.length > 0 && (batch.length === FRAMES_PER_REQUEST || points + size > POINTS_PER_REQUEST)) {
      yield batch;
      batch = [];
      points = 0;
    }
    batch.push(frame);
    points += size;
  }
  if (batch.length > 0) yield batch;
}

/** A CloudKitty without auth by its URL, or one behind Keystone through a session that finds and signs in. */
export type DataframeTarget = { url: string } | { session: KeystoneSession };

/**
 * `POST /v2/dataframes`, through the bridge's OpenStack HTTP plumbing, so a seed CloudKitty refuses fails
 * as an OpenStackRequestError with CloudKitty's message. Posting the same point (period, metric, tags)
 * again overwrites it, so a retried or repeated seed is harmless.
 */
export async function postDataframes(
  target: DataframeTarget,
  dataframes: readonly Dataframe[],
  options: OpenStackHttpOptions = {},
): Promise<void> {
  const http = new OpenStackHttp(options);
  for (const batch of requestsOf(dataframes)) {
    const base = 'url' in target ? target.url.replace(/\/+$/, '') : await target.session.ratingEndpoint();
    const sent: OpenStackHttpRequest = {
      method: 'POST',
      url: new URL(`${base}/v2/dataframes`),
      headers: 'session' in target ? { 'X-Auth-Token': await target.session.token() } : {},
      json: { dataframes: batch },
    };
    const response = await http.send(sent);
    if (response.status !== 204 && response.status !== 200) throw OpenStackHttp.errorFor(sent, response);
  }
}
