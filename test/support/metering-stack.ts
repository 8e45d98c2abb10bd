import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { SeedingKillBillClient } from './seeding-killbill-client.js';
import { silentLogger } from '../../src/logging/logger.js';
import { parseWindowSize, type ScopeStatePolicy } from '../../src/metering/index.js';
import { CloudKittyClient, type OpenStackRequestEvent } from '../../src/clients/openstack/index.js';
import { AccountRegistrar } from '../../src/registry/account-registrar.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { UsageLedger } from '../../src/record/usage-ledger.js';
import { UsageSync } from '../../src/sync/usage-sync.js';
import { startKillBillStandin, type KillBillStandin } from '../killbill-standin/index.js';
import { startCloudKitty, type CloudKittyInstance } from './cloudkitty.js';
import { RedisServer } from './redis-server.js';

export const METRIC_UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' };
export const PREFIX = 'osb';

/** Redis, the Kill Bill stand-in with tenant bob/lazar and the project catalog, and a real CloudKitty. */
export class MeteringStack {
  requests: OpenStackRequestEvent[] = [];

  private constructor(
    readonly redisServer: RedisServer,
    readonly redis: Redis,
    readonly killbill: KillBillStandin,
    readonly cloudkitty: CloudKittyInstance,
    readonly kb: SeedingKillBillClient,
  ) {}

  static async start(): Promise<MeteringStack> {
    const [redisServer, killbill, cloudkitty] = await Promise.all([
      RedisServer.start(),
      startKillBillStandin({ port: 0 }),
      startCloudKitty(),
    ]);
    killbill.createTenant('bob', 'lazar');
    const kb = new SeedingKillBillClient({
      url: killbill.url,
      username: 'admin',
      password: 'password',
      apiKey: 'bob',
      apiSecret: 'lazar',
    });
    await kb.uploadCatalogXml(readFileSync('catalog/catalog.xml', 'utf8'));
    return new MeteringStack(redisServer, redisServer.client(), killbill, cloudkitty, kb);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.killbill.close();
    await this.redisServer.close();
  }

  get registry(): RegistryStore {
    return new RegistryStore(this.redis, PREFIX);
  }

  get ledger(): UsageLedger {
    return new UsageLedger(this.redis, PREFIX);
  }

  async reconcile(): Promise<void> {
    const registrar = new AccountRegistrar({
      clients: new Map([['bob', this.kb]]),
      store: this.registry,
      metricUnits: METRIC_UNITS,
      logger: silentLogger,
    });
    await registrar.reconcileTenant('bob');
  }

  /** An account metered for a project, with one subscription started on `startDate` (YYYY-MM-DD). */
  async meteredAccount(name: string, projectId: string, startDate: string, metrics = 'instance,vcpus') {
    const accountId = await this.kb.createAccount({
      name,
      currency: 'USD',
      externalKey: `${name}-${projectId}`,
    });
    await this.kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: projectId },
      { name: FIELD.metrics, value: metrics },
    ]);
    const subscriptionId = await this.kb.createSubscription(
      accountId,
      'openstack-standard-monthly',
      startDate,
    );
    return { accountId, subscriptionId };
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
      clients: new Map([['bob', this.kb]]),
      windowSize: parseWindowSize('1h'),
      settleDelayMs: options.settleDelayMs ?? 2 * 3_600_000,
      scopeState: options.scopeState ?? 'optional',
      horizonPeriods: 2,
      logger: silentLogger,
    });
  }
}
