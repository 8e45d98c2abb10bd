import { BillingReads, type InvoiceItem } from '../clients/killbill/billing-reads.js';
import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import { TenantNotConfiguredError } from '../errors/index.js';
import {
  alignWindowStart,
  billingPeriodRelativeTo,
  billingWindowsBetween,
  closedThrough,
  localDateInCycle,
  windowOverlapsSpan,
  type BillingCycle,
  type ScopeStatePolicy,
  type UsageTzMode,
  type WindowSize,
} from '../metering/index.js';
import type { CloudKittyClient } from '../clients/openstack/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';
import { projectKey, ratesForWindows, type ProjectUsage } from '../sync/rated-usage-pull.js';
import { cycleOfEntry, spanOf } from '../sync/metered-entry.js';
import { unattributedUsage } from '../sync/unattributed-usage.js';
import { GroupbyAttribution, type StackAttribution } from '../sync/stack-attribution.js';
import {
  reconcile,
  type PeriodFigures,
  type ReconcileReport,
  type UnattributedLine,
} from './reconcile-compare.js';

export interface ReconcilerOptions {
  /** The registry's metered subscriptions (the sync's own choice: `UsageSync.syncableEntries`). */
  entries: (accountId?: string) => Promise<SubscriptionEntry[]>;
  cloudkitty: CloudKittyClient;
  clients: ReadonlyMap<string, KillBillClient>;
  windowSize: WindowSize;
  settleDelayMs: number;
  /** How rows are told apart by stack: the sync's own (`UsageSync.attribution`). Default: CloudKitty's `stack_id`. */
  attribution?: StackAttribution;
  /** Whether a project without a CloudKitty scope state counts as rated (the sync's `cloudkitty.scopeState`). */
  scopeState: ScopeStatePolicy;
  rateScale: number;
  tzMode: UsageTzMode;
  logger: Logger;
}

/** A calendar month, as given by `--period YYYY-MM`. */
export interface Month {
  year: number;
  month: number;
}

export interface ReconcileRequest {
  month: Month;
  accountId?: string;
  now?: Date;
}

/** One subscription's period: clipped to its span, and to what CloudKitty has finished rating. */
interface Target {
  entry: SubscriptionEntry;
  cycle: BillingCycle;
  start: Date;
  end: Date;
  /** End of the last window billed: the hour a cancellation falls in is billed in full, as the sync does. */
  windowsEnd: Date;
  /** Kill Bill's period end, account-local: the dry run's target date and the items' end date. */
  localStart: string;
  localEnd: string;
}

/** The period of the cycle whose start falls, account-local, in the month; one always does. */
export function periodStartingIn(month: Month, cycle: BillingCycle) {
  const prefix = `${month.year}-${String(month.month).padStart(2, '0')}-`;
  const middle = new Date(Date.UTC(month.year, month.month - 1, 15));
  for (const offset of [0, 1, -1]) {
    const p = billingPeriodRelativeTo(middle, offset, cycle);
    if (localDateInCycle(p.start, cycle).startsWith(prefix)) return p;
  }
  throw new Error(`no billing period starts in ${prefix.slice(0, 7)}`);
}

/** Gathers CloudKitty's and Kill Bill's figures for a month's periods, and compares them. */
export class Reconciler {
  constructor(private readonly options: ReconcilerOptions) {}

  async run(req: ReconcileRequest): Promise<ReconcileReport> {
    const targets = this.targets(await this.options.entries(req.accountId), req.month);
    const usage = await this.pull(targets);
    const closed = await this.closedThrough(req.now ?? new Date());
    const periods: PeriodFigures[] = [];
    for (const [accountId, ofAccount] of groupBy(targets, (t) => t.entry.accountId)) {
      periods.push(...(await this.account(accountId, ofAccount, usage, closed)));
    }
    const report = reconcile(periods, this.unattributed(targets, usage, closed));
    const differing = report.lines.filter((l) => l.differenceCents !== 0).length;
    this.options.logger.info(
      {
        event: 'reconcile.done',
        month: req.month,
        accountId: req.accountId,
        lines: report.lines.length,
        differing,
        unattributed: report.unattributed.length,
      },
      differing === 0 ? 'Kill Bill bills what CloudKitty rated' : 'Kill Bill differs from CloudKitty',
    );
    return report;
  }

  private targets(entries: SubscriptionEntry[], month: Month): Target[] {
    const targets: Target[] = [];
    for (const entry of entries) {
      const cycle = cycleOfEntry(entry, this.options.tzMode);
      const period = periodStartingIn(month, cycle);
      const span = spanOf(entry);
      const start = period.start > span.start ? period.start : span.start;
      const end = span.end && span.end < period.end ? span.end : period.end;
      // A subscription not running in that period has nothing to prove.
      if (start >= end) continue;
      const windowsEnd = end < period.end ? ceilToWindow(end, this.options.windowSize) : end;
      const localStart = localDateInCycle(start, cycle);
      const localEnd = localDateInCycle(period.end, cycle);
      targets.push({ entry, cycle, start, end, windowsEnd, localStart, localEnd });
    }
    return targets;
  }

  /** One CloudKitty pull for every subscription at once, as the sync does. */
  private async pull(targets: Target[]): Promise<ProjectUsage> {
    if (targets.length === 0) return new Map();
    const first = new Date(Math.min(...targets.map((t) => t.start.getTime())));
    const begin = alignWindowStart(first, this.options.windowSize);
    const end = new Date(Math.max(...targets.map((t) => t.windowsEnd.getTime())));
    const metricTypes = [...new Set(targets.flatMap((t) => Object.keys(t.entry.units)))].sort();
    const attribution = this.options.attribution ?? new GroupbyAttribution();
    const entries = targets.map((t) => t.entry);
    const { usage, unattributable } = await attribution.pull(
      this.options.cloudkitty,
      { begin, end, metricTypes },
      entries,
    );
    // A project whose rows cannot be told apart now has no true figure per cluster: no report rather than a wrong one.
    const [failed] = unattributable;
    if (failed) {
      const [project, err] = failed;
      throw new Error(`cannot tell project ${project}'s usage apart by cluster now: ${err.message}`, {
        cause: err,
      });
    }
    return usage;
  }

  /** Per project, the end of the last window CloudKitty has finished rating (as the sync decides it). */
  private async closedThrough(now: Date): Promise<(projectId: string) => Date | null> {
    const processed = new Map<string, Date>();
    for (const s of await this.options.cloudkitty.scopes()) {
      if (s.lastProcessedTimestamp) processed.set(projectKey(s.scopeId), s.lastProcessedTimestamp);
    }
    const { windowSize, settleDelayMs, scopeState } = this.options;
    return (projectId) =>
      closedThrough({
        now,
        windowSize,
        settleDelayMs,
        scopeState,
        lastProcessed: processed.get(projectKey(projectId)),
      });
  }

  private async account(
    accountId: string,
    targets: Target[],
    usage: ProjectUsage,
    closed: (projectId: string) => Date | null,
  ): Promise<PeriodFigures[]> {
    const tenant = targets[0]!.entry.tenantApiKey;
    const kb = this.options.clients.get(tenant);
    if (!kb) throw new TenantNotConfiguredError(tenant);
    const reads = new BillingReads(kb);
    const currency = (await kb.getAccount(accountId))?.currency ?? 'USD';
    const invoiced = (await reads.invoices(accountId)).flatMap((i) => i.items ?? []);
    // One dry run per period end: subscriptions of an account may have different bill-cycle days.
    const dryRuns = new Map<string, InvoiceItem[]>();
    const periods: PeriodFigures[] = [];
    for (const t of targets) {
      if (!dryRuns.has(t.localEnd)) {
        dryRuns.set(t.localEnd, (await reads.dryRun(accountId, t.localEnd))?.items ?? []);
      }
      const { entry } = t;
      const rolled = await reads.usage(entry.subscriptionId, t.start, t.end);
      const recorded = Object.fromEntries(
        (rolled.rolledUpUnits ?? []).map((u) => [u.unitType ?? '', String(u.amount ?? 0)]),
      );
      periods.push({
        tenant,
        accountId,
        subscriptionId: entry.subscriptionId,
        stackId: entry.stackId,
        stackName: entry.stackName,
        currency,
        start: t.start,
        end: t.end,
        localStart: t.localStart,
        localEnd: t.localEnd,
        units: [...new Set(Object.values(entry.units))].sort(),
        rates: this.rates(t, usage, closed(entry.projectId!)),
        recorded,
        invoiced,
        toBeInvoiced: dryRuns.get(t.localEnd)!,
      });
    }
    return periods;
  }

  /**
   * Per project, its rows in its subscriptions' closed windows that none of them owns: found by the sync's own
   * rule (`unattributedUsage`), over the reconciled periods only.
   */
  private unattributed(
    targets: Target[],
    usage: ProjectUsage,
    closed: (projectId: string) => Date | null,
  ): Array<Omit<UnattributedLine, 'ratedCents'>> {
    const lines: Array<Omit<UnattributedLine, 'ratedCents'>> = [];
    const ofProject = (t: Target) => `${t.entry.tenantApiKey}\0${projectKey(t.entry.projectId!)}`;
    for (const group of groupBy(targets, ofProject).values()) {
      const project = projectKey(group[0]!.entry.projectId!);
      const closedTo = closed(project);
      if (closedTo === null) continue;
      const start = Math.min(...group.map((t) => t.start.getTime()));
      const end = Math.min(closedTo.getTime(), ...group.map((t) => t.windowsEnd.getTime()));
      const rows = (usage.get(project) ?? []).filter((r) => r.beginMs >= start && r.beginMs < end);
      const entries = group.map((t) => t.entry);
      for (const u of unattributedUsage(entries, new Map([[project, rows]]), this.options.rateScale)) {
        lines.push({
          ...u,
          accountIds: [...new Set(entries.map((e) => e.accountId))].sort(),
          periodStart: new Date(start).toISOString(),
          periodEnd: new Date(end).toISOString(),
        });
      }
    }
    return lines;
  }

  /** Per unit, the quantized rate of each closed window of the period, exactly as the sync computes it. */
  /** A project CloudKitty has not rated yet (`closedTo` null) has no closed window: the sync waits for it too. */
  private rates(t: Target, usage: ProjectUsage, closedTo: Date | null): Record<string, Array<string | null>> {
    const { entry } = t;
    const span = spanOf(entry);
    const windows = billingWindowsBetween(t.start, t.windowsEnd, this.options.windowSize, t.cycle).filter(
      (w) => windowOverlapsSpan(w, span) && closedTo !== null && w.end <= closedTo,
    );
    const rows = usage.get(projectKey(entry.projectId!)) ?? [];
    const perWindow = ratesForWindows(rows, windows, entry.units, entry, this.options.rateScale);
    const rates: Record<string, Array<string | null>> = {};
    for (const unit of new Set(Object.values(entry.units))) {
      rates[unit] = perWindow.map((r) => r[unit] ?? null);
    }
    return rates;
  }
}

function ceilToWindow(d: Date, size: WindowSize): Date {
  const start = alignWindowStart(d, size);
  return start.getTime() === d.getTime() ? start : new Date(start.getTime() + size.ms);
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
