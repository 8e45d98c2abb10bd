import type { QueueOptions, Worker } from 'bullmq';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { BridgeConfig } from '../config/index.js';
import { IntakeMetrics } from '../intake/intake-metrics.js';
import type { KillBillCall } from '../clients/killbill/killbill-client.js';
import type { OpenStackRequestEvent } from '../clients/openstack/index.js';
import { ReconcileDifferences } from '../reconcile/reconcile-differences.js';
import { REGISTRY_QUEUE, USAGE_QUEUE } from '../jobs/queue-names.js';
import type { IdleSubscription } from '../sync/idle-reasons.js';
import type { UnattributedUsage } from '../sync/unattributed-usage.js';
import { SyncFreshness } from '../sync/sync-freshness.js';
import type { CreditedUsage, RecordedUsage } from '../record/record-observer.js';
import type { SyncObserver } from '../sync/sync-observer.js';
import { QueueMetrics } from './queue-metrics.js';
import { RequestMetrics, type OpenStackService } from './request-metrics.js';
import { DEFAULT_SCRAPE_DEADLINE_MS } from './scrape-deadline.js';
import { SyncMetrics } from './sync-metrics.js';
import { UsageMetrics } from './usage-metrics.js';

export interface BridgeMetricsOptions {
  /** API keys of the configured tenants: the only values the `tenant` label takes. */
  tenants: readonly string[];
  /** Kill Bill units the bridge records: the only values the `unit` label takes. */
  units: readonly string[];
  /** Longest wait for Redis during a scrape. Default 1 s. */
  scrapeDeadlineMs?: number;
  /**
   * prom-client's own process metrics (CPU, memory, GC, event-loop lag). Default false: only a process that
   * serves `/metrics` wants them, and collecting costs a callback per GC and a timer every few milliseconds,
   * which a one-shot `bridge sync` of 10,000 subscriptions paid for nothing.
   */
  processMetrics?: boolean;
}

/**
 * Every Prometheus family of the bridge, in one registry: created once per process and handed to each
 * stage (intake, Kill Bill and OpenStack clients, workers, sync), so `bridge start` reports API and
 * workers together and a worker-only process has the same registry to expose. Labels are bounded by
 * construction: tenants and units come from the configuration, operations and paths from the code;
 * never an account, subscription or project id. docs/operations.md lists each family.
 */
export class BridgeMetrics implements SyncObserver {
  readonly registry = new Registry();
  readonly intake: IntakeMetrics;
  readonly requests: RequestMetrics;
  readonly queues: QueueMetrics;
  readonly usage: UsageMetrics;
  readonly sync: SyncMetrics;
  private readonly tenants: readonly string[];

  constructor(options: BridgeMetricsOptions) {
    const deadline = options.scrapeDeadlineMs ?? DEFAULT_SCRAPE_DEADLINE_MS;
    this.tenants = options.tenants;
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    this.intake = new IntakeMetrics(this.registry);
    this.requests = new RequestMetrics(this.registry);
    this.queues = new QueueMetrics(this.registry, deadline);
    this.usage = new UsageMetrics(this.registry, options.tenants, options.units);
    this.sync = new SyncMetrics(this.registry, deadline);
  }

  static forConfig(
    config: BridgeConfig,
    options: Pick<BridgeMetricsOptions, 'scrapeDeadlineMs' | 'processMetrics'> = {},
  ): BridgeMetrics {
    const kb = config.killbill;
    return new BridgeMetrics({
      tenants: [kb.apiKey, ...kb.extraTenants.map((t) => t.apiKey)],
      units: [...new Set(Object.values(config.metering.metricUnits))],
      ...options,
    });
  }

  /** The Kill Bill client hook (`onCall`) feeding the request metrics. */
  killBillObserver(): (call: KillBillCall) => void {
    return (call) => this.requests.killBillCall(call);
  }

  /** The OpenStack HTTP hook (`onRequest`) feeding the request metrics. */
  openStackObserver(service: OpenStackService): (e: OpenStackRequestEvent) => void {
    return (e) => this.requests.openStackRequest(service, e);
  }

  /** Counts the worker's jobs. */
  watchWorker(worker: Worker): void {
    this.queues.watchWorker(worker);
  }

  /**
   * Reads the queue counts and each tenant's last successful sync from this Redis at scrape time. Called
   * by the API and by the workers; in `bridge start` the first connection is kept.
   */
  readFrom(connection: QueueOptions['connection'] & SyncFreshnessRedis, prefix: string): void {
    this.queues.countJobs(connection, prefix, [REGISTRY_QUEUE, USAGE_QUEUE]);
    this.sync.readLastSuccess(new SyncFreshness(connection, prefix), this.tenants);
    this.sync.readReconcileDifferences(new ReconcileDifferences(connection, prefix), this.tenants);
  }

  recorded(usage: RecordedUsage): void {
    this.usage.recorded(usage);
  }

  credited(credit: CreditedUsage): void {
    this.usage.credited(credit);
  }

  unattributed(tenants: readonly string[], found: readonly UnattributedUsage[]): void {
    this.sync.unattributedAfterPull(tenants, found);
  }

  idle(tenants: readonly string[], idle: readonly IdleSubscription[]): void {
    this.sync.idleAfterRun(tenants, idle);
  }

  async close(): Promise<void> {
    await this.queues.close();
  }
}

type SyncFreshnessRedis = ConstructorParameters<typeof SyncFreshness>[0] &
  ConstructorParameters<typeof ReconcileDifferences>[0];
