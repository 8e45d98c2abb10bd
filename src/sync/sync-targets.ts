import type { CloudKittyClient } from '../clients/openstack/index.js';
import type { UsageLedger } from '../record/usage-ledger.js';
import { whyNothingDue, type IdleSubscription } from './idle-reasons.js';
import type { MeteredEntry } from './metered-entry.js';
import { projectKey } from './rated-usage-pull.js';
import { syncRange, type SyncRangeRequest, type SyncRangeSettings } from './sync-range.js';
import type { SyncTarget } from './subscription-sync.js';

export interface SyncTargetSources extends SyncRangeSettings {
  ledger: Pick<UsageLedger, 'watermarks'>;
  cloudkitty: Pick<CloudKittyClient, 'scopes'>;
}

/**
 * Each metered subscription's range, from its watermark to what CloudKitty has closed: the targets of a run.
 * Those with nothing due are added to `idle`, with the reason.
 */
export async function syncTargets(
  metered: readonly MeteredEntry[],
  req: SyncRangeRequest,
  now: Date,
  idle: IdleSubscription[],
  sources: SyncTargetSources,
): Promise<SyncTarget[]> {
  const { ledger, windowSize, settleDelayMs } = sources;
  // A project is closed up to CloudKitty's last processed time; without one, see closedThrough.
  const processed = new Map<string, Date>();
  for (const s of await sources.cloudkitty.scopes()) {
    if (s.lastProcessedTimestamp) processed.set(projectKey(s.scopeId), s.lastProcessedTimestamp);
  }
  const watermarks = new Map<string, Record<string, string>>();
  const targets: SyncTarget[] = [];
  // Most targets share their range: one Date per instant, not two per target (19 MB at 100,000).
  const dates = new Map<number, Date>();
  const shared = (d: Date) => dates.get(d.getTime()) ?? (dates.set(d.getTime(), d), d);
  for (const entry of metered) {
    const tenant = entry.tenantApiKey;
    const read = watermarks.get(tenant) ?? (await ledger.watermarks(tenant));
    watermarks.set(tenant, read);
    const ratedUpTo = processed.get(projectKey(entry.projectId));
    const { from, to, notRated } = syncRange(entry, read[entry.subscriptionId], req, now, ratedUpTo, sources);
    if (from < to) targets.push({ entry, from: shared(from), to: shared(to) });
    else {
      const range = req.from || req.to ? { from: req.from, to: req.to } : undefined;
      idle.push(whyNothingDue({ entry, from, now, windowSize, settleDelayMs, ratedUpTo, notRated, range }));
    }
  }
  return targets;
}
