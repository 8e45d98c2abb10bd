import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Queue, type Worker } from 'bullmq';
import { Configuration, SubscriptionApi, apiKey } from 'killbill';
import type { BridgeConfig } from '../../src/config/index.js';
import { createTenantClients } from '../../src/clients/killbill/tenant-clients.js';
import { silentLogger } from '../../src/logging/logger.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { createRedisConnection, type RedisClient } from '../../src/jobs/redis-connection.js';
import type { RegistryJobData } from '../../src/jobs/registry-jobs.js';
import { AccountRegistrar } from '../../src/registry/account-registrar.js';
import { FIELD, type SubscriptionEntry } from '../../src/registry/metered-subscription.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { ApiService } from '../../src/app/api-service.js';
import { createRegistryWorker } from '../../workers/registry-worker.js';
import { testConfig } from '../support/bridge-config.js';
import { SeedingKillBillClient } from '../support/seeding-killbill-client.js';
import { catalogRebuildSettled } from '../support/catalog-rebuild.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  createTenant,
  startKillBill,
  tenantHeaders,
  waitForQueues,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { RedisServer } from '../support/redis-server.js';
import { freePort, waitFor } from '../support/wait.js';
import { PushDeliveries, pushRetries } from './push-deliveries.js';

export const PLAN = 'openstack-standard-monthly';
/** `ram` maps to a unit the catalog does not declare, so a subscription asking for it shows why not. */
export const METRIC_UNITS = {
  instance: 'openstack-billed-instance',
  vcpus: 'openstack-billed-vcpus',
  ram: 'openstack-billed-ram',
};
const CATALOG = new URL('../../catalog/catalog.xml', import.meta.url);
/**
 * Kill Bill is real and shared by the run: its bus, its pushes and the worker take their time. 60 s ran out
 * once late in a whole CI run, when the shared server holds every earlier suite's tenants.
 */
const SETTLE_MS = 120_000;

/** A fresh Keystone project id (32 hex digits), so tests never collide on a project. */
export const projectId = (): string => randomUUID().replace(/-/g, '');

/**
 * The registry end to end: a real Redis, a tenant of the REAL Kill Bill (test/support/killbill-server.ts)
 * with the bridge's catalog, the intake API whose callback Kill Bill calls (through a fault proxy that sees
 * every push, see {@link PushDeliveries}), and a real BullMQ registry worker. Tests change Kill Bill and
 * wait for the registry, the way an operator's change reaches it in production.
 */
export class RegistryHarness {
  private readonly subscriptionApi: SubscriptionApi;

  private constructor(
    readonly redis: RedisServer,
    readonly tenant: KillBillTenant,
    readonly pushes: PushDeliveries,
    readonly config: BridgeConfig,
    readonly api: ApiService,
    readonly kb: SeedingKillBillClient,
    readonly store: RegistryStore,
    readonly queue: Queue<RegistryJobData>,
    /** The registry rebuild the catalog upload of start() asked for (its only reconcile so far). */
    readonly catalogRebuild: { at: number; accounts: number },
    private readonly worker: Worker<RegistryJobData>,
    private readonly connections: RedisClient[],
  ) {
    this.subscriptionApi = new SubscriptionApi(
      new Configuration({
        basePath: tenant.url,
        username: tenant.username,
        password: tenant.password,
        apiKey: apiKey(tenant.apiKey, tenant.apiSecret),
      }),
    );
  }

  /** The tenant's API key: what the registry is keyed by. */
  get apiKey(): string {
    return this.tenant.apiKey;
  }

  static async start(): Promise<RegistryHarness> {
    const [redis, server] = await Promise.all([RedisServer.start(), startKillBill()]);
    // The server's default catalog until the upload below: no empty catalog of its own to announce late.
    const tenant = await createTenant({ useGlobalDefault: true });
    const port = await freePort();
    const intake = await FaultProxy.start(`http://127.0.0.1:${port}`);
    const config = testConfig({
      REDIS_URL: redis.url,
      KILLBILL_URL: tenant.url,
      KILLBILL_USERNAME: tenant.username,
      KILLBILL_PASSWORD: tenant.password,
      KILLBILL_API_KEY: tenant.apiKey,
      KILLBILL_API_SECRET: tenant.apiSecret,
      BRIDGE_PUBLIC_URL: intake.url,
      BRIDGE_REGISTER_CALLBACK: 'true',
      BRIDGE_METRIC_UNITS: JSON.stringify(METRIC_UNITS),
    });
    const clients = createTenantClients(config);
    const kb = new SeedingKillBillClient(config.killbill);

    const api = new ApiService({ config, logger: silentLogger, port, host: '127.0.0.1' });
    await api.start();
    await waitFor('the intake has registered its callback with Kill Bill', () => api.callbacksRegistered, {
      timeoutMs: 30_000,
    });

    const storeConnection = redis.client();
    const workerConnection = createRedisConnection(redis.url, 'worker');
    const store = new RegistryStore(storeConnection, config.redis.prefix);
    const registrar = new AccountRegistrar({
      clients,
      store,
      metricUnits: config.metering.metricUnits,
      logger: silentLogger,
    });
    const worker = createRegistryWorker({
      connection: workerConnection,
      prefix: config.redis.prefix,
      registrar,
      logger: silentLogger,
    });
    // BullMQ leaves a connection it was given open on close(), so the harness closes all three itself.
    const queueConnection = redis.client();
    const queue = new Queue<RegistryJobData>(REGISTRY_QUEUE, {
      connection: queueConnection,
      prefix: config.redis.prefix,
    });
    // The upload is announced to the bridge, which rebuilds the (empty) registry: let that finish first.
    await kb.uploadCatalogXml(readFileSync(CATALOG, 'utf8'));
    const rebuild = await catalogRebuildSettled(tenant, redis.url, config.redis.prefix, store);
    const pushes = new PushDeliveries(intake, pushRetries(server));
    return new RegistryHarness(redis, tenant, pushes, config, api, kb, store, queue, rebuild, worker, [
      storeConnection,
      workerConnection,
      queueConnection,
    ]);
  }

  async close(): Promise<void> {
    // The server is shared by the run: it is told to stop pushing to a callback that goes away.
    await fetch(`${this.tenant.url}/1.0/kb/tenants/registerNotificationCallback`, {
      method: 'DELETE',
      headers: tenantHeaders(this.tenant),
    }).catch(() => undefined);
    await this.worker.close();
    await this.queue.close();
    await this.api.stop();
    await this.pushes.proxy.close();
    for (const c of this.connections) c.disconnect();
    await this.redis.close();
  }

  /** True once Kill Bill has processed the tenant's bus events and notifications due now. */
  async killBillIdle(): Promise<boolean> {
    return waitForQueues(this.tenant, 1).then(
      () => true,
      () => false,
    );
  }

  /**
   * Waits until Kill Bill has processed everything due, no push is on the wire or (unless deliveries are
   * stopped) still to be retried, and the worker has finished every registry job; a job still failing
   * keeps this waiting, so a broken refresh fails the test.
   */
  async settled(timeoutMs = SETTLE_MS): Promise<void> {
    await waitFor(
      'Kill Bill has delivered every notification and the registry worker has run every job',
      // Each unmet condition throws, so a timeout names the last one that held the wait.
      async () => {
        if (this.pushes.pending()) throw new Error('a push is on the wire or due to be retried');
        if (!(await this.killBillIdle())) throw new Error("Kill Bill's bus or notification queue is busy");
        // Asked again: a push Kill Bill made while the queues were read.
        if (this.pushes.pending()) throw new Error('Kill Bill pushed while its queues were read');
        const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        const busy = Object.entries(counts).filter(([, c]) => c > 0);
        if (busy.length > 0)
          throw new Error(`registry jobs ${busy.map(([s, c]) => `${s}: ${c}`).join(', ')}`);
        return true;
      },
      { timeoutMs, intervalMs: 100 },
    );
    const failed = await this.queue.getJobs(['failed']);
    if (failed.length > 0) throw new Error(`registry job(s) failed: ${failed.map((j) => j.failedReason)}`);
  }

  /** The registry's entries for one account (conflicts marked), in a stable order. */
  async entriesOf(accountId: string): Promise<SubscriptionEntry[]> {
    return (await this.store.entries(this.apiKey)).filter((e) => e.accountId === accountId);
  }

  async entry(subscriptionId: string): Promise<SubscriptionEntry | undefined> {
    return this.store.entry(this.apiKey, subscriptionId);
  }

  /** Waits until the registry's entry for the subscription satisfies `check`, and returns it. */
  async waitForEntry(
    what: string,
    subscriptionId: string,
    check: (e: SubscriptionEntry) => boolean,
    timeoutMs = SETTLE_MS,
  ): Promise<SubscriptionEntry> {
    return waitFor(
      what,
      async () => {
        const e = await this.entry(subscriptionId);
        return e && check(e) ? e : undefined;
      },
      { timeoutMs },
    );
  }

  /**
   * An account, with the given account-level custom fields, and `subscriptions` subscriptions, started
   * today or on `startDate` (YYYY-MM-DD).
   */
  async createAccount(
    fields: Record<string, string> = {},
    subscriptions = 1,
    startDate?: string,
  ): Promise<{ accountId: string; subscriptionIds: string[] }> {
    const accountId = await this.kb.createAccount({
      name: `registry test ${randomUUID().slice(0, 8)}`,
      currency: 'USD',
    } as Parameters<SeedingKillBillClient['createAccount']>[0]);
    const list = Object.entries(fields).map(([name, value]) => ({ name, value }));
    if (list.length > 0) await this.kb.addAccountCustomFields(accountId, list);
    const subscriptionIds: string[] = [];
    for (let i = 0; i < subscriptions; i++) {
      subscriptionIds.push(await this.kb.createSubscription(accountId, PLAN, startDate));
    }
    return { accountId, subscriptionIds };
  }

  /** An account metered on `project` through account-level fields, with one subscription. */
  async meteredAccount(project = projectId(), extra: Record<string, string> = {}) {
    const created = await this.createAccount({
      [FIELD.enabled]: 'true',
      [FIELD.projectId]: project,
      ...extra,
    });
    return { ...created, subscriptionId: created.subscriptionIds[0]!, project };
  }

  async accountFieldId(accountId: string, name: string): Promise<string> {
    const field = (await this.kb.getAccountCustomFields(accountId))?.find((f) => f.name === name);
    if (!field?.customFieldId) throw new Error(`account ${accountId} has no field ${name}`);
    return field.customFieldId;
  }

  async setSubscriptionFields(subscriptionId: string, fields: Record<string, string>): Promise<void> {
    const list = Object.entries(fields).map(([name, value]) => ({ name, value }));
    await this.kb.addSubscriptionCustomFields(subscriptionId, list);
  }

  async deleteSubscriptionField(subscriptionId: string, name: string): Promise<void> {
    const field = (await this.kb.getSubscriptionCustomFields(subscriptionId))?.find((f) => f.name === name);
    if (!field?.customFieldId) throw new Error(`subscription ${subscriptionId} has no field ${name}`);
    await this.subscriptionApi.deleteSubscriptionCustomFields(subscriptionId, 'registry-test', [
      field.customFieldId,
    ]);
  }

  /** Runs the tenant's reconcile through the queue, as the hourly schedule does, and waits for it. */
  async reconcileThroughQueue(): Promise<void> {
    const job = await this.queue.add('reconcile', {
      kind: 'reconcile',
      tenantApiKey: this.apiKey,
      cause: 'test',
    });
    await waitFor(
      `reconcile job ${job.id} has completed`,
      async () => {
        const state = await job.getState();
        if (state === 'failed')
          throw new Error(`reconcile failed: ${(await this.queue.getJob(job.id!))?.failedReason}`);
        return state === 'completed';
      },
      { timeoutMs: SETTLE_MS },
    );
  }
}
