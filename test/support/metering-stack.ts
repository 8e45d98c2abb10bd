import { Redis } from 'ioredis';
import { SeedingKillBillClient } from './seeding-killbill-client.js';
import { silentLogger } from '../../src/logging/logger.js';
import { parseWindowSize, type ScopeStatePolicy } from '../../src/metering/index.js';
import { CloudKittyClient, type OpenStackRequestEvent } from '../../src/clients/openstack/index.js';
import { AccountRegistrar } from '../../src/registry/account-registrar.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { UsageLedger } from '../../src/record/usage-ledger.js';
import { UsageSync } from '../../src/sync/usage-sync.js';
import type { FaultProxy } from './fault-proxy.js';
import { dayOf, HOUR, killBillForBridge, MeteredTenant } from './metered-tenant.js';
import { startCloudKitty, type CloudKittyInstance } from './cloudkitty.js';
import { RedisServer } from './redis-server.js';

export const METRIC_UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' };
export const PREFIX = 'osb';

/**
 * Redis, a fresh tenant of the REAL Kill Bill (test/support/killbill-server.ts) with the project catalog, and
 * a real CloudKitty. The bridge, and the tests' reads of what it recorded, reach Kill Bill through `killbill`:
 * a {@link FaultProxy} that adapts the bridge to the 0.22 war served here and injects latency and failures.
 */
export class MeteringStack {
  requests: OpenStackRequestEvent[] = [];

  private constructor(
    readonly redisServer: RedisServer,
    readonly redis: Redis,
    readonly tenant: MeteredTenant,
    /** In front of the real Kill Bill: the bridge's KILLBILL_URL. */
    readonly killbill: FaultProxy,
    readonly cloudkitty: CloudKittyInstance,
    /** The bridge's client for this tenant, through `killbill`. */
    readonly kb: SeedingKillBillClient,
  ) {}

  static async start(): Promise<MeteringStack> {
    const [redisServer, tenant, killbill, cloudkitty] = await Promise.all([
      RedisServer.start(),
      MeteredTenant.create(),
      killBillForBridge(),
      startCloudKitty(),
    ]);
    const kb = new SeedingKillBillClient({
      url: killbill.url,
      username: tenant.tenant.username,
      password: tenant.tenant.password,
      ...tenant.credentials,
    });
    return new MeteringStack(redisServer, redisServer.client(), tenant, killbill, cloudkitty, kb);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.killbill.close();
    await this.redisServer.close();
  }

  /** The tenant's API key: what the registry and the ledger key subscriptions by. */
  get apiKey(): string {
    return this.tenant.apiKey;
  }

  /** Environment for a bridge process or config: this tenant, through `killbill`, and this Redis. */
  env(): Record<string, string> {
    return { ...this.tenant.env(), KILLBILL_URL: this.killbill.url, REDIS_URL: this.redisServer.url };
  }

  /**
   * The whole UTC days around `[from, to)`, to read recorded usage over: the 0.22 war served here keeps a
   * record's date only (see killBillForBridge) and reads between dates, the end one excluded, so a range
   * ending mid-day would leave out that day's records.
   */
  usageDays(from: number, to: number): [string, string] {
    return [dayOf(from), dayOf(to + 24 * HOUR)];
  }

  get registry(): RegistryStore {
    return new RegistryStore(this.redis, PREFIX);
  }

  get ledger(): UsageLedger {
    return new UsageLedger(this.redis, PREFIX);
  }

  async reconcile(): Promise<void> {
    const registrar = new AccountRegistrar({
      clients: new Map([[this.apiKey, this.kb]]),
      store: this.registry,
      metricUnits: METRIC_UNITS,
      logger: silentLogger,
    });
    await registrar.reconcileTenant(this.apiKey);
  }

  /** An account metered for a project, with one subscription started on `startDate` (YYYY-MM-DD). */
  meteredAccount(name: string, projectId: string, startDate: string, metrics = 'instance,vcpus') {
    return this.tenant.meteredAccount(name, projectId, startDate, metrics);
  }

  /**
   * A usage sync wired to this stack; `cloudkittyUrl` lets a test point it at a CloudKitty that is down. Scope
   * states are optional by default: this stack seeds CloudKitty through POST /v2/dataframes, which makes none.
   */
  usageSync(
    options: {
      cloudkittyUrl?: string;
      pageSize?: number;
      settleDelayMs?: number;
      scopeState?: ScopeStatePolicy;
    } = {},
  ): UsageSync {
    const cloudkitty = new CloudKittyClient({
      url: options.cloudkittyUrl ?? this.cloudkitty.url,
      pageSize: options.pageSize ?? 1000,
      attempts: 2,
      baseDelayMs: 10,
      onRequest: (e) => this.requests.push(e),
    });
    return new UsageSync({
      registry: this.registry,
      ledger: this.ledger,
      cloudkitty,
      clients: new Map([[this.apiKey, this.kb]]),
      windowSize: parseWindowSize('1h'),
      settleDelayMs: options.settleDelayMs ?? 2 * 3_600_000,
      scopeState: options.scopeState ?? 'optional',
      horizonPeriods: 2,
      logger: silentLogger,
    });
  }
}
