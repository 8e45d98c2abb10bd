import type { WindowSize } from '../metering/index.js';
import type { MeteredEntry } from './metered-entry.js';
import { ownsRow, type RatedRow } from './rated-usage-pull.js';
import type { SubscriptionSyncResult, SyncTarget } from './subscription-sync.js';

/**
 * Why a subscription the registry knows had nothing recorded by a run. An operator who sees "0 records"
 * needs to tell "nothing is due yet" from "something is stuck" without reading the registry and ledger.
 */
export type IdleReason =
  | 'conflict'
  | 'notStarted'
  | 'ended'
  | 'outsideRange'
  | 'noClosedWindow'
  | 'notRatedYet'
  | 'waitingForRating'
  | 'noUsage'
  | 'noNewCent';

export interface IdleSubscription {
  reason: IdleReason;
  tenant: string;
  accountId: string;
  subscriptionId: string;
  /**
   * The one instant that answers "until when": start (notStarted), end of the span (ended), when the next
   * window counts as closed (noClosedWindow), CloudKitty's rating progress (waitingForRating).
   */
  at?: Date;
}

/** Every reason in the order a person should read them: the ones that need action first. */
export const IDLE_REASONS: readonly IdleReason[] = [
  'conflict',
  'waitingForRating',
  'notRatedYet',
  'noClosedWindow',
  'notStarted',
  'ended',
  'outsideRange',
  'noUsage',
  'noNewCent',
];

const alignDown = (d: Date, size: WindowSize) => new Date(Math.floor(d.getTime() / size.ms) * size.ms);
const alignUp = (d: Date, size: WindowSize) => new Date(Math.ceil(d.getTime() / size.ms) * size.ms);

export interface UnsyncedContext {
  entry: MeteredEntry;
  /** Start of the first window the run would have recorded (the watermark, or the range start). */
  from: Date;
  now: Date;
  windowSize: WindowSize;
  settleDelayMs: number;
  /** CloudKitty's last processed time for the project, when it reports one. */
  ratedUpTo?: Date;
  /** The project has no scope state and one is required: CloudKitty has rated none of it yet. */
  notRated?: boolean;
  range?: { from?: Date; to?: Date };
}

/** Why the run found no window of this subscription to record: decided in the order that explains most. */
export function whyNothingDue(c: UnsyncedContext): IdleSubscription {
  const { entry, from, now, windowSize: size } = c;
  const idle = (reason: IdleReason, at?: Date): IdleSubscription => ({
    reason,
    tenant: entry.tenantApiKey,
    accountId: entry.accountId,
    subscriptionId: entry.subscriptionId,
    ...(at ? { at } : {}),
  });
  const since = new Date(entry.since);
  const until = entry.until ? new Date(entry.until) : undefined;
  const spanEnd = until ? alignUp(until, size) : undefined;
  if (c.range?.to && (alignDown(c.range.to, size) <= from || alignDown(c.range.to, size) <= since))
    return idle('outsideRange');
  if (spanEnd && c.range?.from && spanEnd <= c.range.from) return idle('outsideRange');
  if (since > now) return idle('notStarted', since);
  if (until && spanEnd && from >= spanEnd) return idle('ended', until);
  // No instant to give: it waits for cloudkitty-processor to first take up the project, not for a clock.
  if (c.notRated) return idle('notRatedYet');
  const windowEnd = new Date(from.getTime() + size.ms);
  // A window still running, or ended but inside the settle delay CloudKitty is given to rate it.
  if (windowEnd > now || !c.ratedUpTo) {
    return idle('noClosedWindow', c.ratedUpTo ? windowEnd : new Date(windowEnd.getTime() + c.settleDelayMs));
  }
  return idle('waitingForRating', c.ratedUpTo);
}

/** Why a subscription that was synced still recorded nothing; undefined when it recorded or failed. */
export function whyNothingRecorded(
  target: SyncTarget,
  rows: readonly RatedRow[],
  result: SubscriptionSyncResult,
): IdleSubscription | undefined {
  if (result.error) return undefined;
  const { entry } = target;
  const base = {
    tenant: entry.tenantApiKey,
    accountId: entry.accountId,
    subscriptionId: entry.subscriptionId,
  };
  if (result.records + result.corrections + result.alreadyRecorded + result.lateDifferences > 0)
    return undefined;
  const [from, to] = [target.from.getTime(), target.to.getTime()];
  const rated = rows.some(
    (r) =>
      r.beginMs >= from && r.beginMs < to && entry.units[r.type] !== undefined && ownsRow(entry, r.stack),
  );
  return { reason: rated ? 'noNewCent' : 'noUsage', ...base };
}

/** The line a person reads for one reason, e.g. "2 subscription(s) with no closed window yet (…)". */
export function describeIdle(reason: IdleReason, count: number, at: Date | undefined): string {
  const when = at ? at.toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z') : '';
  const n = `${count} subscription(s)`;
  switch (reason) {
    case 'conflict':
      return `${n} in conflict, not metered until fixed (see \`bridge registry show\`)`;
    case 'waitingForRating':
      return `${n} waiting for CloudKitty to rate (rated up to ${when})`;
    case 'notRatedYet':
      return `${n} not rated by CloudKitty yet (no scope state for their project: cloudkitty-processor has not processed it)`;
    case 'noClosedWindow':
      return `${n} with no closed window yet (next window closes at ${when})`;
    case 'notStarted':
      return `${n} not started yet (first starts ${when})`;
    case 'ended':
      return `${n} cancelled and recorded through the end`;
    case 'outsideRange':
      return `${n} with nothing left to record in the requested range`;
    case 'noUsage':
      return `${n} with no rated usage in CloudKitty for the closed windows`;
    case 'noNewCent':
      return `${n} whose rated usage adds no whole cent to what is recorded`;
  }
}

export interface IdleGroup {
  count: number;
  /** Earliest `at` of the group: the soonest anything changes. */
  at?: string;
  subscriptions: Array<{ tenant: string; accountId: string; subscriptionId: string; at?: string }>;
}

/** The idle subscriptions grouped by reason, in reading order, for JSON and for the summary lines. */
export function groupIdle(idle: readonly IdleSubscription[]): Partial<Record<IdleReason, IdleGroup>> {
  const out: Partial<Record<IdleReason, IdleGroup>> = {};
  for (const reason of IDLE_REASONS) {
    const mine = idle.filter((i) => i.reason === reason);
    if (mine.length === 0) continue;
    const times = mine.flatMap((i) => (i.at ? [i.at.getTime()] : []));
    out[reason] = {
      count: mine.length,
      ...(times.length ? { at: new Date(Math.min(...times)).toISOString() } : {}),
      subscriptions: mine.map(({ reason: _r, at, ...ids }) => ({
        ...ids,
        ...(at ? { at: at.toISOString() } : {}),
      })),
    };
  }
  return out;
}

/** How many subscriptions idled for each reason, for log lines and job results. */
export function countIdle(idle: readonly IdleSubscription[]): Partial<Record<IdleReason, number>> {
  const out: Partial<Record<IdleReason, number>> = {};
  for (const i of idle) out[i.reason] = (out[i.reason] ?? 0) + 1;
  return out;
}
