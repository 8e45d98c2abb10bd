import { Gauge, type Registry } from 'prom-client';
import { IDLE_REASONS, type IdleSubscription } from '../sync/idle-reasons.js';
import type { SyncFreshness } from '../sync/sync-freshness.js';
import type { UnattributedUsage } from '../sync/unattributed-usage.js';
import type { ReconcileDifferences } from '../reconcile/reconcile-differences.js';
import { withinDeadline } from './scrape-deadline.js';

/** How far behind each tenant's usage sync is, and why subscriptions wait. */
export class SyncMetrics {
  private readonly idle: Gauge<'tenant' | 'reason'>;
  private readonly unattributed: Gauge<'tenant'>;
  private freshness: { store: SyncFreshness; tenants: readonly string[] } | undefined;
  private differences: { store: ReconcileDifferences; tenants: readonly string[] } | undefined;

  constructor(
    registry: Registry,
    private readonly deadlineMs: number,
  ) {
    this.idle = new Gauge({
      name: 'bridge_sync_idle_subscriptions',
      help: 'Subscriptions whose windows the last sync run left pending, per tenant and reason.',
      labelNames: ['tenant', 'reason'],
      registers: [registry],
    });
    this.unattributed = new Gauge({
      name: 'bridge_sync_unattributed_projects',
      help: 'Projects whose rated usage in the last pull belongs to no metered subscription (a stack none names), per tenant: reported, not billed.',
      labelNames: ['tenant'],
      registers: [registry],
    });
    const ages = () => this.ages();
    new Gauge({
      name: 'bridge_sync_last_success_age_seconds',
      help: 'Seconds since the last sync that left none of the due subscriptions of the tenant failed.',
      labelNames: ['tenant'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [tenant, seconds] of await ages()) this.set({ tenant }, seconds);
      },
    });
    const differences = () => this.readDifferences();
    new Gauge({
      name: 'bridge_reconcile_difference_cents',
      help: 'How far Kill Bill bills from CloudKitty (less the bridge credits), in cents, each line counted without sign, per tenant, as the last whole-tenant `bridge reconcile` found it.',
      labelNames: ['tenant'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [tenant, cents] of await differences()) this.set({ tenant }, cents);
      },
    });
  }

  /** Sets every reason of every tenant, zeros included, so a reason that cleared up shows 0, not its old count. */
  idleAfterRun(tenants: readonly string[], idle: readonly IdleSubscription[]): void {
    for (const tenant of tenants) {
      for (const reason of IDLE_REASONS) {
        const count = idle.filter((i) => i.tenant === tenant && i.reason === reason).length;
        this.idle.set({ tenant, reason }, count);
      }
    }
  }

  /** Sets every tenant, zeros included, so a project whose stack got a subscription clears. */
  unattributedAfterPull(tenants: readonly string[], found: readonly UnattributedUsage[]): void {
    for (const tenant of tenants)
      this.unattributed.set({ tenant }, found.filter((u) => u.tenant === tenant).length);
  }

  /** Seconds since each tenant's last success; none while Redis is away (bridge_redis_up says so). */
  private async ages(): Promise<Map<string, number>> {
    const watched = this.freshness;
    if (!watched) return new Map();
    const read = watched.store.lastSuccess(watched.tenants);
    const last = await withinDeadline(read, this.deadlineMs, 'reading the last sync').catch(() => undefined);
    const now = Date.now();
    return new Map([...(last ?? [])].map(([t, at]) => [t, Math.max(0, (now - at.getTime()) / 1000)]));
  }

  /** Each tenant's last reconcile difference, kept in Redis by the `bridge reconcile` command. */
  private async readDifferences(): Promise<Map<string, number>> {
    const watched = this.differences;
    if (!watched) return new Map();
    const read = watched.store.read(watched.tenants);
    return (
      (await withinDeadline(read, this.deadlineMs, 'reading reconcile differences').catch(() => null)) ??
      new Map()
    );
  }

  /** Reads the reconcile differences at every scrape from Redis; the first store given is kept. */
  readReconcileDifferences(store: ReconcileDifferences, tenants: readonly string[]): void {
    this.differences ??= { store, tenants };
  }

  /** Computes the age at every scrape from the time kept in Redis; the first store given is kept. */
  readLastSuccess(store: SyncFreshness, tenants: readonly string[]): void {
    this.freshness ??= { store, tenants };
  }
}
