import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { SeedingKillBillClient } from './seeding-killbill-client.js';
import { BRIDGE_QUEUES } from '../../src/jobs/queue-names.js';
import { FIELD, type SubscriptionEntry } from '../../src/registry/metered-subscription.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { seededCloudKittyEnv, startCloudKitty, type CloudKittyInstance } from './cloudkitty.js';
import { FaultProxy } from './fault-proxy.js';
import { createTenant, type KillBillTenant } from './killbill-server.js';
import { RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

export const PREFIX = 'osb';
const CATALOG = new URL('../../catalog/catalog.xml', import.meta.url);

/**
 * What `bridge worker` runs against: a real Redis, a tenant of the real Kill Bill with the bridge's
 * catalog, reached through a fault proxy (so a test can make Kill Bill slow), and the real CloudKitty.
 */
export class WorkerStack {
  private constructor(
    readonly redis: RedisServer,
    readonly tenant: KillBillTenant,
    readonly proxy: FaultProxy,
    readonly cloudkitty: CloudKittyInstance,
    /** Straight to Kill Bill, not through the proxy: the test's own setup is never slowed. */
    readonly kb: SeedingKillBillClient,
    private readonly connection: Redis,
  ) {}

  static async start(): Promise<WorkerStack> {
    const [redis, tenant, cloudkitty] = await Promise.all([
      RedisServer.start(),
      createTenant(),
      startCloudKitty(),
    ]);
    const proxy = await FaultProxy.start(tenant.url);
    const kb = new SeedingKillBillClient({ ...tenant, url: tenant.url });
    await kb.uploadCatalogXml(readFileSync(CATALOG, 'utf8'));
    const connection = redis.client();
    // The tests stop Redis on purpose; its reconnect errors are expected, not worth a line each.
    connection.on('error', () => {});
    return new WorkerStack(redis, tenant, proxy, cloudkitty, kb, connection);
  }

  /** The environment of a bridge process against this stack. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      REDIS_URL: this.redis.url,
      KILLBILL_URL: this.proxy.url,
      KILLBILL_USERNAME: this.tenant.username,
      KILLBILL_PASSWORD: this.tenant.password,
      KILLBILL_API_KEY: this.tenant.apiKey,
      KILLBILL_API_SECRET: this.tenant.apiSecret,
      ...seededCloudKittyEnv(this.cloudkitty.url),
      BRIDGE_REGISTER_CALLBACK: 'false',
      ...extra,
    };
  }

  queue<T>(name: string): Queue<T> {
    return new Queue<T>(name, { connection: this.connection, prefix: PREFIX });
  }

  /** The registry the workers keep. */
  get registry(): RegistryStore {
    return new RegistryStore(this.connection, PREFIX);
  }

  /** The registry's entries of one account: what a refresh of it stored. */
  async entriesOf(accountId: string): Promise<SubscriptionEntry[]> {
    return (await this.registry.entries(this.tenant.apiKey)).filter((e) => e.accountId === accountId);
  }

  /** An account metered for a new project, with one subscription; its id. */
  async meteredAccount(): Promise<string> {
    const projectId = Math.random().toString(16).slice(2).padEnd(32, '0');
    const accountId = await this.kb.createAccount({
      name: 'Shutdown Cloud',
      currency: 'USD',
      externalKey: projectId,
    });
    await this.kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: projectId },
      { name: FIELD.metrics, value: 'instance' },
    ]);
    await this.kb.createSubscription(accountId, 'openstack-standard-monthly');
    return accountId;
  }

  /** Waits until no job of any bridge queue is waiting or running (the start-up reconcile and tick done). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const queues = BRIDGE_QUEUES.map((q) => this.queue(q.name));
    try {
      await waitFor(
        'every bridge queue is idle, with its start-up jobs completed',
        async () => {
          const counts = await Promise.all(queues.map((q) => q.getJobCounts('active', 'wait', 'completed')));
          return counts.every((c) => c.active === 0 && c.wait === 0 && (c.completed ?? 0) > 0);
        },
        { timeoutMs, intervalMs: 100 },
      );
    } finally {
      await Promise.all(queues.map((q) => q.close()));
    }
  }

  async close(): Promise<void> {
    this.connection.disconnect();
    await this.proxy.close();
    await this.redis.close();
  }
}
