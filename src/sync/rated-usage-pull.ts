import { DEFAULT_RATE_SCALE, quantizeRate, type Money } from '../metering/index.js';
import type { UsageWindow } from '../metering/index.js';
import type { CloudKittyClient } from '../clients/openstack/index.js';
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
}

const HOUR_MS = 3_600_000;
/** Passes of a pull before giving up on a CloudKitty that keeps rating inside the range (retryable). */
const MAX_PASSES = 5;

/**
 * Rated usage of all metered projects, grouped by time, project and type, filtered by metric type (always an
 * explicit filter: CloudKitty 17.0.0 leaks a project filter into later unfiltered calls). Never one call per
 * project. CloudKitty rebuilds the whole result for every page it serves, so one paged query costs the
 * square of its size; instead the range is pulled in time chunks that fit one page each: linear in the rows
 * returned, each chunk's rows going straight into per-project buckets. One summary of the whole range
 * without time (a row per series: its sum and quantity) counts the series for the chunk size, and, taken
 * again after the chunks, proves CloudKitty rated nothing in the range meanwhile; otherwise the pass is
 * dropped and the pull starts again, so it never holds a project half read.
 */
export async function pullRatedUsage(ck: CloudKittyClient, req: PullRequest): Promise<ProjectUsage> {
  if (req.metricTypes.length === 0 || req.begin >= req.end) return new Map();
  const series = req.stackTag ? ['project_id', 'type', req.stackTag] : ['project_id', 'type'];
  const totals = () =>
    ck.summary({ begin: req.begin, end: req.end, groupby: series, filters: { type: req.metricTypes } });
  for (let pass = 1; ; pass++) {
    const before = await totals();
    if (before.length === 0) return new Map();
    const usage = await pullChunks(ck, req, series, before.length);
    if (fingerprint(await totals()) === fingerprint(before)) return usage;
    if (pass >= MAX_PASSES)
      throw new SummaryUnstableError(
        `CloudKitty rated inside ${req.begin.toISOString()}–${req.end.toISOString()} during each of ${pass} pulls`,
      );
  }
}

/** The range in time chunks of about one page each (CloudKitty answers a row per series and collect period). */
async function pullChunks(
  ck: CloudKittyClient,
  req: PullRequest,
  series: string[],
  seriesCount: number,
): Promise<ProjectUsage> {
  const usage: ProjectUsage = new Map();
  const end = req.end.getTime();
  // Hourly unless the first rows say the collect period is shorter.
  let rowsPerSeriesHour = 1;
  for (let at = req.begin.getTime(); at < end;) {
    const hours = Math.max(1, Math.floor(ck.pageSize / (seriesCount * rowsPerSeriesHour)));
    const chunkEnd = Math.min(end, at + hours * HOUR_MS);
    const rows = await ck.summary({
      begin: new Date(at),
      end: new Date(chunkEnd),
      groupby: ['time', ...series],
      filters: { type: req.metricTypes },
    });
    const period = rows[0] ? rows[0].end.getTime() - rows[0].begin.getTime() : 0;
    if (period > 0) rowsPerSeriesHour = Math.max(rowsPerSeriesHour, Math.ceil(HOUR_MS / period));
    addRows(usage, rows as unknown as Array<Record<string, string> & SummaryRowTimes>, req.stackTag);
    at = chunkEnd;
  }
  return usage;
}

/** A summary's rows as comparable text: every field, rows in a fixed order. */
function fingerprint(rows: readonly object[]): string {
  return rows
    .map((r) => JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1))))
    .sort()
    .join('\n');
}

/** The fields of a summary row the pull reads; `type` is always there, as every pull groups by it. */
interface SummaryRowTimes {
  begin: Date;
  type: string;
  rate: string | null;
}

function addRows(
  usage: ProjectUsage,
  rows: ReadonlyArray<Record<string, string> & SummaryRowTimes>,
  stackTag: string | undefined,
): void {
  for (const r of rows) {
    if (r.rate === null) continue;
    const project = projectKey(String(r.project_id));
    const list = usage.get(project) ?? [];
    list.push({
      beginMs: r.begin.getTime(),
      type: r.type,
      stack: stackTag ? (r[stackTag] ?? null) : null,
      rate: r.rate,
    });
    usage.set(project, list);
  }
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
