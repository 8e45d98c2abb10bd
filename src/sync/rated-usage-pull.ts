import { DEFAULT_RATE_SCALE, quantizeRate, type Money } from '../metering/index.js';
import type { UsageWindow } from '../metering/index.js';
import type { CloudKittyClient, SummaryQuery, SummaryRow } from '../clients/openstack/index.js';
import { SummaryUnstableError } from '../errors/index.js';

/** One CloudKitty collect period of one project and metric type (and stack, when asked). */
export interface RatedRow {
  beginMs: number;
  type: string;
  stack: string | null;
  /** CloudKitty's rate as exact decimal text; null = no data. */
  rate: string | null;
}

/** Rated usage of every project pulled at once, by project id. */
export type ProjectUsage = Map<string, RatedRow[]>;

export interface PullRequest {
  begin: Date;
  end: Date;
  /** CloudKitty metric types billed by anyone. */
  metricTypes: string[];
  /** CloudKitty groupby tag that tells stacks of one project apart; set only when a subscription needs it. */
  stackTag?: string;
  /** Only these projects (a retry of one subscription whose shared pull has expired). */
  projectIds?: string[];
  /**
   * How many projects are likely rated (the metered ones): sizes the first request so that an hour of them
   * fits. Only a guess: an hour holding more is asked again whole, so nothing depends on it being right.
   */
  expectedProjects?: number;
}

const HOUR_MS = 3_600_000;
/** Passes of a pull before giving up on a CloudKitty that keeps rating inside the range (retryable). */
const MAX_PASSES = 5;

/**
 * Rated usage of all metered projects, grouped by time, project and type, filtered by metric type (always an
 * explicit filter: CloudKitty 17.0.0 leaks a project filter into later unfiltered calls). Never one call per
 * project, and never paged by offset: CloudKitty rebuilds the whole result for every request, so one paged
 * query costs the square of its size. An hour or less (the steady hourly sync) is one response, asked large
 * enough for the expected projects, or asked again whole when it holds more (`summary`). A longer range
 * is pulled in time chunks of about one page each, linear in the rows returned, each chunk's rows going
 * straight into per-project buckets, sized by the series (the expected projects × types, or CloudKitty's count
 * of them); two fingerprints of the whole range (one small row each) frame them and prove CloudKitty rated
 * nothing in it meanwhile; otherwise the pass is dropped and the pull starts again, so it never holds a project
 * half read.
 */
export async function pullRatedUsage(ck: CloudKittyClient, req: PullRequest): Promise<ProjectUsage> {
  if (req.metricTypes.length === 0 || req.begin >= req.end) return new Map();
  const series = req.stackTag ? ['project_id', 'type', req.stackTag] : ['project_id', 'type'];
  const query = (begin: Date, end: Date): SummaryQuery<string> => ({
    begin,
    end,
    groupby: ['time', ...series],
    filters: req.projectIds
      ? { type: req.metricTypes, project_id: req.projectIds }
      : { type: req.metricTypes },
  });
  const whole = query(req.begin, req.end);
  // Grouped by stack (or by resource, for Heat), a project has a row per stack or server: no guess from projects.
  const expectedRowsPerHour = req.stackTag ? 0 : (req.expectedProjects ?? 0) * req.metricTypes.length;
  if (req.end.getTime() - req.begin.getTime() <= HOUR_MS) {
    const limit = Math.max(ck.pageSize, expectedRowsPerHour);
    return heldExactly(bucketed(new Map(), await ck.summary({ ...whole, limit }, pulledRow(req.stackTag))));
  }
  for (let pass = 1; ; pass++) {
    const before = await ck.summaryFingerprint(whole);
    if (before === 'none') return new Map();
    // CloudKitty answers a row per series and collect period, empty periods included: the series in the range
    // size the first chunk, assuming hourly periods. The expected projects say it without a call; otherwise
    // the total of a summary without time (one row asked, CloudKitty builds it whole) does. A low guess costs
    // one narrower request, once: each chunk then sizes the next.
    const seriesCount =
      expectedRowsPerHour > 0
        ? expectedRowsPerHour
        : (await ck.summaryFirstPage({ ...whole, groupby: series, limit: 1 })).total;
    const usage = await pullChunks(ck, req, query, seriesCount, expectedRowsPerHour > 0 ? 2 : 3);
    if ((await ck.summaryFingerprint(whole)) === before) return heldExactly(usage);
    if (pass >= MAX_PASSES)
      throw new SummaryUnstableError(
        `CloudKitty rated inside ${req.begin.toISOString()}–${req.end.toISOString()} during each of ${pass} pulls`,
      );
  }
}

/**
 * The range in time chunks of about one page each, spread evenly over the hours left, so that the whole pass
 * (its chunks and the `framingCalls` around them) asks no more requests than its rows fill pages. The rows an
 * hour holds are `rowsPerHourAtFirst` at first, or the most a chunk has shown since. A chunk of hours that
 * turns out larger than asked (collect periods shorter than an hour) is asked again narrower, sized by
 * CloudKitty's `total`. An hour that alone holds more than a page is one chunk, asked whole at the size
 * expected of it (`summary`).
 */
async function pullChunks(
  ck: CloudKittyClient,
  req: PullRequest,
  query: (begin: Date, end: Date) => SummaryQuery<string>,
  rowsPerHourAtFirst: number,
  framingCalls: number,
): Promise<ProjectUsage> {
  const usage: ProjectUsage = new Map();
  const end = req.end.getTime();
  let rowsPerHour = Math.max(1, rowsPerHourAtFirst);
  const chunkRows = rowsPerChunk(ck.pageSize, hoursIn(req.begin.getTime(), end) * rowsPerHour, framingCalls);
  const keep = pulledRow(req.stackTag);
  // A chunk holding more rows than asked is asked once more over the same hours with a limit of its total; if it
  // holds more still (CloudKitty rating into it meanwhile), over an hour fewer each time, down to one hour, which
  // `summary` bounds. So a chunk costs at most a request per hour it spans, plus one.
  let again: { hours: number; limit: number } | undefined;
  for (let at = req.begin.getTime(); at < end;) {
    const planned = chunkHours(hoursIn(at, end), rowsPerHour, chunkRows);
    const hours = again ? Math.min(again.hours, planned) : planned;
    const chunkEnd = Math.min(end, at + hours * HOUR_MS);
    const span = chunkEnd - at;
    const chunk = query(new Date(at), new Date(chunkEnd));
    const limit = Math.max(ck.pageSize, hours * rowsPerHour, again?.limit ?? 0);
    let rows: PulledRow[];
    let received: number;
    if (span <= HOUR_MS) {
      rows = await ck.summary({ ...chunk, limit }, keep);
      received = rows.length;
    } else {
      const page = await ck.summaryFirstPage({ ...chunk, limit }, keep);
      if (page.total > page.received) {
        rowsPerHour = Math.max(rowsPerHour + 1, Math.ceil((page.total * HOUR_MS) / span));
        again = again ? { hours: hours - 1, limit: 0 } : { hours, limit: page.total };
        continue;
      }
      ({ rows, received } = page);
    }
    again = undefined;
    bucketed(usage, rows);
    rowsPerHour = Math.max(rowsPerHour, Math.ceil((received * HOUR_MS) / span));
    at = chunkEnd;
  }
  return usage;
}

const hoursIn = (from: number, to: number) => Math.ceil((to - from) / HOUR_MS);

/** The next chunk's hours: the hours left split evenly into as few chunks of about `chunkRows` as they need. */
export function chunkHours(hoursLeft: number, rowsPerHour: number, chunkRows: number): number {
  return Math.ceil(hoursLeft / Math.ceil((hoursLeft * rowsPerHour) / chunkRows));
}

/**
 * The rows a chunk aims at: a page, or more when the pass's framing calls would otherwise take the pass over
 * one request per page of rows (`rows` expected in all). A pass of up to `framingCalls` + 1 pages is one chunk
 * (its requests are then the framing calls and that chunk, whatever the pages), so a chunk may hold that many
 * pages: no larger than one request's rows of a pass that is one chunk anyway.
 */
export function rowsPerChunk(pageSize: number, rows: number, framingCalls: number): number {
  const chunks = Math.max(1, Math.ceil(rows / pageSize) - framingCalls);
  return Math.max(pageSize, Math.ceil(rows / chunks));
}

/** A rated row and its project, kept from a summary as it is read. */
type PulledRow = RatedRow & { project: string };

/**
 * What the pull keeps of a summary row: rated periods only (`type` is there, as every pull groups by it). The
 * project, type and stack each row repeats are kept once per pull: each row parsed alone has copies of its
 * own, and the rows are held until their subscriptions are synced (200,000 rows an hour at 100,000 projects).
 */
function pulledRow(stackTag: string | undefined) {
  const kept = new Map<string, string>();
  const once = (s: string) => kept.get(s) ?? (kept.set(s, s), s);
  return (r: SummaryRow<string>): PulledRow | undefined => {
    if (r.rate === null) return undefined;
    const tags = r as unknown as Record<string, string>;
    const stack = stackTag ? (tags[stackTag] ?? null) : null;
    return {
      project: once(projectKey(String(tags.project_id))),
      beginMs: r.begin.getTime(),
      type: once(String(tags.type)),
      stack: stack === null ? null : once(stack),
      rate: r.rate,
    };
  };
}

/**
 * Each project's rows in an array of their own length: one grown by pushes keeps room for 19 (168 bytes for
 * the two rows of a steady hour), and the rows are held until their subscriptions are synced (12 MB of the
 * steady hour's live heap at 100,000 projects, BENCHMARKS.md).
 */
function heldExactly(usage: ProjectUsage): ProjectUsage {
  for (const [project, rows] of usage) usage.set(project, rows.slice());
  return usage;
}

function bucketed(usage: ProjectUsage, rows: readonly PulledRow[]): ProjectUsage {
  for (const row of rows) {
    const list = usage.get(row.project);
    if (list) list.push(row);
    else usage.set(row.project, [row]);
  }
  return usage;
}

/** How a subscription shares its project's usage with the project's other subscriptions (docs/clusters.md). */
export interface StackShare {
  /** Its cluster's stack id: only that cluster's rows are its. */
  stackId: string | null;
  /** Without a stack id: the metered clusters whose rows are not its; it takes every other row. */
  otherStacks?: readonly string[];
}

/** Whether a row of the project, tagged with `stack` (null when untagged), is the subscription's. */
export function ownsRow(share: StackShare, stack: string | null): boolean {
  if (share.stackId !== null) return stack === share.stackId;
  return stack === null || !(share.otherStacks ?? []).includes(stack);
}

/** Keystone writes project ids as 32 hex digits; operators sometimes paste them as UUIDs. */
export function projectKey(projectId: string): string {
  return projectId.toLowerCase().replace(/-/g, '');
}

/**
 * Sums a project's rows into the subscription's windows, per Kill Bill unit, by the start of each
 * CloudKitty period (an hour split at a billing-period boundary is counted once, in its first part).
 * Each row is CloudKitty's float sum for its period, so it is quantized to `rateScale` places first.
 */
export function ratesForWindows(
  rows: readonly RatedRow[],
  windows: readonly UsageWindow[],
  units: Readonly<Record<string, string>>,
  share: StackShare,
  rateScale: number = DEFAULT_RATE_SCALE,
): Array<Record<string, string>> {
  const byWindow = windows.map(() => ({}) as Record<string, Money>);
  const starts = windows.map((w) => w.start.getTime());
  for (const row of rows) {
    const unit = units[row.type];
    if (!unit || row.rate === null || !ownsRow(share, row.stack)) continue;
    // Windows are sorted and disjoint: the last one starting at or before the row is the only candidate.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? Infinity) <= row.beginMs) lo = mid;
      else hi = mid - 1;
    }
    const w = windows[lo];
    const sums = byWindow[lo];
    if (!w || !sums || row.beginMs < w.start.getTime() || row.beginMs >= w.end.getTime()) continue;
    const rate = quantizeRate(row.rate, rateScale);
    sums[unit] = sums[unit] ? sums[unit].plus(rate) : rate;
  }
  return byWindow.map((byUnit) =>
    Object.fromEntries(Object.entries(byUnit).map(([unit, sum]) => [unit, sum.toString()])),
  );
}
