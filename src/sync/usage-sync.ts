import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import type { ScopeStatePolicy, UsageTzMode, WindowSize } from '../metering/index.js';
import type { CloudKittyClient } from '../clients/openstack/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';
import type { RegistryStore } from '../registry/registry-store.js';
import { isMetered, type MeteredEntry } from './metered-entry.js';
import { syncTargets } from './sync-targets.js';
import { whyNothingRecorded, type IdleSubscription } from './idle-reasons.js';
import { projectKey, type ProjectUsage, type RatedRow } from './rated-usage-pull.js';
import { GroupbyAttribution, type StackAttribution } from './stack-attribution.js';
import { SubscriptionSync, type SubscriptionSyncResult, type SyncTarget } from './subscription-sync.js';
import type { UsageLedger } from '../record/usage-ledger.js';
import { KillBillSlots } from '../record/kill-bill-slots.js';
import { takeTargets } from './target-queue.js';
import { errorIds, SubscriptionSyncError } from '../errors/index.js';
import { reportUnattributed, type UnattributedUsage } from './unattributed-usage.js';
import type { SyncFreshness } from './sync-freshness.js';
import type { SyncObserver } from './sync-observer.js';

export interface UsageSyncOptions {
  registry: RegistryStore;
  ledger: UsageLedger;
  cloudkitty: CloudKittyClient;
  clients: ReadonlyMap<string, KillBillClient>;
  windowSize: WindowSize;
  /** How long after its end a window counts as rated when CloudKitty reports no scope state (and may not). */
  settleDelayMs: number;
  /**
   * `required` (production): a project without a CloudKitty scope state has not been rated at all, so nothing
   * of it is closed. `optional`: a CloudKitty fed without its processor; settle delay instead (`closedThrough`).
   */
  scopeState: ScopeStatePolicy;
  horizonPeriods: number;
  logger: Logger;
  /** Lifetime of a subscription's lock, renewed while its sync runs. Default 60 000 ms. */
  lockTtlMs?: number;
  /** Decimal places CloudKitty's rates are quantized to before they are summed. Default 8. */
  rateScale?: number;
  /** The Kill Bill server's usage tz mode. Default FIXED, Kill Bill's own default. */
  tzMode?: UsageTzMode;
  /** How rows are told apart by stack (`cloudkitty.stackAttribution`). Default: CloudKitty's `stack_id` attribute. */
  attribution?: StackAttribution;
  /** Told of every record and, after each whole run, why subscriptions idled (the process's metrics). */
  observer?: SyncObserver;
  /** Where each tenant's last successful sync is kept, for every process to report. */
  freshness?: SyncFreshness;
}

export interface SyncRunRequest {
  /** `new`: windows after each watermark; `recheck`: also every recorded window inside the horizon. */
  mode: 'new' | 'recheck';
  /** Backfill: pull and check exactly this range (UTC, `to` exclusive), within what is closed. */
  from?: Date;
  to?: Date;
  accountId?: string;
  now?: Date;
}

export interface PreparedSync {
  now: Date;
  targets: SyncTarget[];
  usage: ProjectUsage;
  /** How many metered subscriptions the run looked at (targets plus those with nothing due). */
  metered: number;
  /** Those with nothing due, and why; conflicts included. */
  idle: IdleSubscription[];
  /** Projects whose pulled usage no metered subscription owns (docs/clusters.md). */
  unattributed: UnattributedUsage[];
  /** Projects whose rows could not be told apart by stack now (Heat failed): their subscriptions record nothing. */
  unattributable: Map<string, Error>;
}

/** A run in this process: each synced subscription's result, and why the others recorded nothing. */
export interface SyncRunReport {
  metered: number;
  results: SubscriptionSyncResult[];
  idle: IdleSubscription[];
  /** Projects whose pulled usage no metered subscription owns; absent when nothing was pulled. */
  unattributed?: UnattributedUsage[];
}

// Runs per Kill Bill slot. More would keep Kill Bill busy while some wait on Redis, which pays only against a
// Kill Bill that answers at once (100,000 against the recorded one: records 17 % slower with 1 than 4). At its pace
// the waiting runs' state costs CPU: 2,000 subscriptions answered 300 ms late, 1.51 ms a subscription with 4,
// 1.37 with 2, 1.08 with 1, for 9 % more wall time there (BENCHMARKS.md).
const RUNS_PER_SLOT = 1;
const min = (a: Date, b: Date) => (a < b ? a : b);
const max = (a: Date, b: Date) => (a > b ? a : b);

/** A sync run: decides each subscription's range, pulls CloudKitty once for all, records per subscription. */
export class UsageSync {
  readonly subscriptionSync: SubscriptionSync;
  readonly attribution: StackAttribution;
  /** The range and metric types of the last CloudKitty pull, for progress lines and tests. */
  lastPull: { begin: Date; end: Date; metricTypes: string[]; projects: number } | undefined;

  constructor(private readonly options: UsageSyncOptions) {
    this.subscriptionSync = new SubscriptionSync(options);
    this.attribution = options.attribution ?? new GroupbyAttribution();
  }

  get cloudkitty(): CloudKittyClient {
    return this.options.cloudkitty;
  }

  /**
   * The rows of one subscription's project for [from, to), pulled for it alone (a worker job whose run's rows
   * expired, or could not be attributed then). Throws while they still cannot be attributed.
   */
  async pullProject(entry: MeteredEntry, from: Date, to: Date): Promise<RatedRow[]> {
    const project = projectKey(entry.projectId);
    const req = { begin: from, end: to, metricTypes: Object.keys(entry.units), projectIds: [project] };
    const { usage, unattributable } = await this.attribution.pull(this.cloudkitty, req, [entry]);
    const failure = unattributable.get(project);
    if (failure) throw failure;
    return usage.get(project) ?? [];
  }

  /** The registry's metered subscriptions, and those held back by a conflict (so a run can say why). */
  async syncableEntries(
    accountId?: string,
  ): Promise<{ metered: MeteredEntry[]; conflicts: SubscriptionEntry[] }> {
    const { registry, clients } = this.options;
    const metered: MeteredEntry[] = [];
    const conflicts: SubscriptionEntry[] = [];
    for (const tenant of await registry.tenants()) {
      if (!clients.has(tenant)) continue;
      for (const e of await registry.entries(tenant)) {
        if (accountId && e.accountId !== accountId) continue;
        if (isMetered(e)) metered.push(e);
        else if (e.status === 'conflict') conflicts.push(e);
      }
    }
    return { metered, conflicts };
  }

  async prepare(req: SyncRunRequest): Promise<PreparedSync> {
    const { cloudkitty, logger } = this.options;
    const now = req.now ?? new Date();
    const { metered, conflicts } = await this.syncableEntries(req.accountId);
    const idle: IdleSubscription[] = conflicts.map((e) => ({
      reason: 'conflict',
      tenant: e.tenantApiKey,
      accountId: e.accountId,
      subscriptionId: e.subscriptionId,
    }));
    const targets = await syncTargets(metered, req, now, idle, this.options);
    const [first] = targets;
    if (!first) {
      const nothing = { usage: new Map(), unattributed: [], unattributable: new Map() };
      return { now, targets, idle, metered: metered.length, ...nothing };
    }
    const begin = targets.reduce((d, t) => min(d, t.from), first.from);
    const end = targets.reduce((d, t) => max(d, t.to), first.to);
    const metricTypes = [...new Set(targets.flatMap((t) => Object.keys(t.entry.units)))].sort();
    // Attributed for every metered subscription sharing its project by stack, due now or not: the rows must
    // say whose they are for the unattributed report too.
    const pullStart = performance.now();
    const { usage, unattributable } = await this.attribution.pull(
      cloudkitty,
      { begin, end, metricTypes, expectedProjects: new Set(metered.map((e) => e.projectId)).size },
      metered,
    );
    const durationMs = Math.round(performance.now() - pullStart);
    this.lastPull = { begin, end, metricTypes, projects: usage.size };
    const unattributed = reportUnattributed(metered, usage, logger, this.options.rateScale);
    this.options.observer?.unattributed?.(this.tenants, unattributed);
    const pulled = {
      begin,
      end,
      subscriptions: targets.length,
      projects: usage.size,
      metricTypes,
      durationMs,
    };
    logger.info({ event: 'sync.pulled', ...pulled }, 'pulled rated usage from CloudKitty');
    return { now, targets, usage, idle, metered: metered.length, unattributed, unattributable };
  }

  /** Runs a whole sync in this process, `concurrency` Kill Bill calls at a time. */
  async runOnce(
    req: SyncRunRequest,
    concurrency = 16,
    onProgress?: (done: number, total: number, result: SubscriptionSyncResult) => void,
  ): Promise<SubscriptionSyncResult[]> {
    return (await this.runOnceReport(req, concurrency, onProgress)).results;
  }

  /** {@link runOnce}, also saying why each subscription that recorded nothing did not. */
  async runOnceReport(
    req: SyncRunRequest,
    concurrency = 16,
    onProgress?: (done: number, total: number, result: SubscriptionSyncResult) => void,
  ): Promise<SyncRunReport> {
    const prepared = await this.prepare(req);
    const results: SubscriptionSyncResult[] = [];
    const idle = [...prepared.idle];
    const failedTenants = new Set<string>();
    // `concurrency` Kill Bill calls at once, one run each (ledger calls batched); each takes the next target.
    const slots = new KillBillSlots(Math.max(1, concurrency));
    const total = prepared.targets.length;
    const queue = takeTargets(prepared);
    const work = async () => {
      for (const { target, project, rows, lastOfProject } of queue) {
        const unattributable = prepared.unattributable.get(project);
        const r = unattributable
          ? this.failed(target, unattributable)
          : await this.syncOne(target, rows, prepared.now, slots);
        // A project's rows are done with once its last subscription ran.
        if (lastOfProject) prepared.usage.delete(project);
        const why = whyNothingRecorded(target, rows, r);
        if (why) idle.push(why);
        if (r.error) failedTenants.add(target.entry.tenantApiKey);
        results.push(r);
        onProgress?.(results.length, total, r);
      }
    };
    await Promise.all(Array.from({ length: slots.size * RUNS_PER_SLOT }, work));
    // A backfill or one account's run says nothing about the tenant as a whole.
    if (!req.from && !req.to && !req.accountId) {
      this.options.observer?.idle(this.tenants, idle);
      const synced = this.tenants.filter((t) => !failedTenants.has(t));
      await this.remember(Promise.all(synced.map((t) => this.options.freshness?.succeeded(t))));
    }
    return { metered: prepared.metered, results, idle, unattributed: prepared.unattributed };
  }

  /** Every configured tenant: the registry may hold others, which the sync skips. */
  private get tenants(): string[] {
    return [...this.options.clients.keys()];
  }

  /**
   * A worker tick queued one job per due subscription: they are what the tenant waits for. A tenant
   * with none due is up to date now. Reasons decided by the jobs themselves (no usage, no new cent) are
   * not known here, so a worker's idle counts hold only the tick's.
   */
  async tickQueued(prepared: PreparedSync): Promise<void> {
    this.options.observer?.idle(this.tenants, prepared.idle);
    const due = (tenant: string) =>
      prepared.targets.filter((t) => t.entry.tenantApiKey === tenant).map((t) => t.entry.subscriptionId);
    await this.remember(Promise.all(this.tenants.map((t) => this.options.freshness?.due(t, due(t)))));
  }

  /** A worker's subscription job succeeded; the tenant's last one makes it up to date. */
  async subscriptionDone(tenant: string, subscriptionId: string): Promise<void> {
    await this.remember(this.options.freshness?.done(tenant, subscriptionId));
  }

  /** The last-success bookkeeping only feeds a metric: failing it must not fail a sync that recorded. */
  private async remember(write: Promise<unknown> | undefined): Promise<void> {
    await write?.catch((err: unknown) =>
      this.options.logger.warn(
        { event: 'sync.freshness_unsaved', err: (err as Error).message },
        'could not keep the time of the last successful sync in Redis; its age metric lags until the next run',
      ),
    );
  }

  /** One subscription; a failure is its result, so the others still run and the next run retries it. */
  private async syncOne(target: SyncTarget, rows: readonly RatedRow[], now: Date, slots: KillBillSlots) {
    try {
      return await this.subscriptionSync.run(target, rows, now, slots);
    } catch (err) {
      // What the run recorded before it failed stays in the counts: Kill Bill holds it.
      return this.failed(target, err);
    }
  }

  /** A subscription whose windows stay pending this run, logged; the next run retries it. */
  private failed(target: SyncTarget, err: unknown): SubscriptionSyncResult {
    const { subscriptionId, tenantApiKey, accountId } = target.entry;
    const r: SubscriptionSyncResult =
      err instanceof SubscriptionSyncError
        ? (err as SubscriptionSyncError<SubscriptionSyncResult>).result
        : {
            subscriptionId,
            records: 0,
            corrections: 0,
            alreadyRecorded: 0,
            lateDifferences: 0,
            error: (err as Error).message,
          };
    this.options.logger.error(
      {
        event: 'sync.subscription_failed',
        ...errorIds(err),
        tenant: tenantApiKey,
        accountId,
        subscriptionId,
        records: r.records,
        err: r.error,
      },
      'subscription sync failed; the next run retries it',
    );
    return r;
  }
}
