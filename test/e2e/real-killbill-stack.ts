import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Worker } from 'bullmq';
import { Decimal } from 'decimal.js';
import type { BridgeConfig } from '../../src/config/index.js';
import type { ScopeStatePolicy } from '../../src/metering/index.js';
import { SeedingKillBillClient } from '../support/seeding-killbill-client.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { createRedisConnection, type RedisClient } from '../../src/jobs/redis-connection.js';
import type { RegistryJobData } from '../../src/jobs/registry-jobs.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { ApiService } from '../../src/app/api-service.js';
import { createBridgeRuntime, type BridgeRuntime } from '../../src/app/bridge-runtime.js';
import { createRegistryWorker } from '../../workers/registry-worker.js';
import { testConfig } from '../support/bridge-config.js';
import { seededCloudKittyEnv } from '../support/cloudkitty.js';
import {
  createTenant,
  resetClock,
  setClock,
  tenantHeaders,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { catalogRebuildSettled } from '../support/catalog-rebuild.js';
import { killBillFront } from '../support/killbill-022-shim.js';
import { RedisServer } from '../support/redis-server.js';
import { freePort, waitFor } from '../support/wait.js';

export const UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' } as const;
export type Metric = keyof typeof UNITS;
const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
const HOUR = 3_600_000;
export const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The CloudKitty the bridge reads. A URL alone is one the tests seed through POST /v2/dataframes, without
 * cloudkitty-processor and so without scope states: the bridge is told they are optional.
 */
export type BridgeCloudKitty = string | { url: string; scopeState: ScopeStatePolicy; pageSize?: number };

function cloudKittyEnv(ck: BridgeCloudKitty): Record<string, string> {
  if (typeof ck === 'string') return seededCloudKittyEnv(ck);
  const paging: Record<string, string> = ck.pageSize ? { CLOUDKITTY_PAGE_SIZE: String(ck.pageSize) } : {};
  return { CLOUDKITTY_URL: ck.url, CLOUDKITTY_SCOPE_STATE: ck.scopeState, ...paging };
}

/**
 * The bridge as deployed, on one Kill Bill tenant: a real Redis, the intake API on a free port (it registers
 * its callback with Kill Bill itself), the registry worker, and the runtime the sync commands build.
 */
export class BridgeStack {
  private constructor(
    readonly redis: RedisServer,
    readonly config: BridgeConfig,
    readonly api: ApiService,
    readonly runtime: BridgeRuntime,
    private readonly worker: Worker<RegistryJobData>,
    private readonly workerConnection: RedisClient,
  ) {}

  /**
   * `killbillUrl`: where the bridge reaches Kill Bill (the server, or a proxy in front of it); `env`: more
   * configuration, e.g. the usage tz mode that matches the server.
   */
  static async start(
    tenant: KillBillTenant,
    killbillUrl: string,
    cloudkitty: BridgeCloudKitty,
    env: Record<string, string> = {},
  ) {
    const redis = await RedisServer.start();
    const port = await freePort();
    const config = testConfig({
      REDIS_URL: redis.url,
      KILLBILL_URL: killbillUrl,
      KILLBILL_USERNAME: tenant.username,
      KILLBILL_PASSWORD: tenant.password,
      KILLBILL_API_KEY: tenant.apiKey,
      KILLBILL_API_SECRET: tenant.apiSecret,
      ...cloudKittyEnv(cloudkitty),
      BRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      BRIDGE_REGISTER_CALLBACK: 'true',
      ...env,
    });
    const api = new ApiService({ config, logger: silentLogger, port, host: '127.0.0.1' });
    await api.start();
    await waitFor('the intake has registered its callback with Kill Bill', () => api.callbacksRegistered, {
      timeoutMs: 30_000,
    });
    const runtime = createBridgeRuntime(config, silentLogger);
    const workerConnection = createRedisConnection(redis.url, 'worker');
    const worker = createRegistryWorker({
      connection: workerConnection,
      prefix: config.redis.prefix,
      registrar: runtime.registrar,
      logger: silentLogger,
    });
    return new BridgeStack(redis, config, api, runtime, worker, workerConnection);
  }

  /** One sync run of the closed month [month, next), as of a day after it. */
  sync(month: Date, next: Date) {
    const now = new Date(next.getTime() + 24 * HOUR);
    return this.runtime.usageSync.runOnce({ mode: 'new', from: month, to: next, now });
  }

  async close(): Promise<void> {
    await this.worker.close();
    this.workerConnection.disconnect();
    await this.api.stop();
    await this.runtime.close();
    await this.redis.close();
  }
}

export interface Customer {
  name: string;
  projectId: string;
  metrics: Metric[];
  accountId: string;
  subscriptionId: string;
  usage: RatedUsage[];
}

/**
 * Two UTC accounts with the metering fields (`a` meters instance and vcpus, `b` only instance), each with a
 * subscription from `month`, made through the bridge's own Kill Bill client straight to the server; returns
 * once the bridge's registry shows both metered. Nothing but Kill Bill's push notifications tells it.
 */
export async function createCustomers(
  kb: SeedingKillBillClient,
  stack: BridgeStack,
  month: Date,
  kbTenant: KillBillTenant,
) {
  const tenant = stack.config.killbill.apiKey;
  await kb.uploadCatalogXml(readFileSync(new URL('../../catalog/catalog.xml', import.meta.url), 'utf8'));
  // A catalog change makes the bridge rebuild the registry (a new catalog can add units): that rebuild
  // is let finish first, on a tenant with no account yet, so what follows is learnt from notifications only.
  const catalogRebuild = await catalogRebuildSettled(
    kbTenant,
    stack.redis.url,
    stack.config.redis.prefix,
    stack.runtime.registry,
  );
  const list: Customer[] = [];
  for (const [tag, metrics] of [['a', ['instance', 'vcpus']] as const, ['b', ['instance']] as const]) {
    const projectId = randomUUID().replace(/-/g, '');
    const name = `e2e-${tag}-${randomUUID().slice(0, 8)}`;
    const accountId = await kb.createAccount({ name, currency: 'USD', timeZone: 'UTC', externalKey: name });
    await kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: projectId },
      { name: FIELD.metrics, value: metrics.join(',') },
    ]);
    // entitlementDate = billingDate = the 1st: the subscription starts there, whatever Kill Bill's clock says.
    const subscriptionId = await kb.createSubscription(accountId, 'openstack-standard-monthly', day(month));
    list.push({ name, projectId, metrics: [...metrics], accountId, subscriptionId, usage: [] });
  }
  await waitFor(
    'the registry shows both subscriptions metered, learnt from Kill Bill push notifications',
    async () => {
      for (const c of list) {
        const e = await stack.runtime.registry.entry(tenant, c.subscriptionId);
        if (e?.status !== 'metered' || e.projectId !== c.projectId || e.since !== month.toISOString())
          return false;
        if (Object.keys(e.units).sort().join() !== c.metrics.join() || e.billCycleDay !== 1) return false;
      }
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return { list, catalogRebuild, reconciled: await stack.runtime.registry.lastReconcile(tenant) };
}

type Series = [metric: Metric, start: Date, hours: number, seed: number, tail: number, vm?: string];

/** Deterministic 4-decimal hourly prices; the last makes the metric's total end in `tail` ten-thousandths. */
function hourly(c: Customer, [metric, start, hours, seed, tail, vm = '']: Series) {
  const prices: Decimal[] = [];
  for (let i = 0; i < hours - 1; i++) prices.push(new D(100 + ((i * 37 + seed) % 89)).div(10_000));
  const sofar = exactTotal([
    ...c.usage.filter((u) => u.metric === metric),
    ...prices.map((p) => ({ price: p })),
  ]);
  prices.push(new D(100 + ((tail - sofar.times(10_000).mod(100).toNumber() + 200) % 100)).div(10_000));
  const resourceId = `${c.projectId}-${metric}${vm}`;
  const at = (i: number) => new Date(start.getTime() + i * HOUR);
  c.usage.push(
    ...prices.map((p, i) => ({
      begin: at(i),
      projectId: c.projectId,
      metric,
      price: p.toFixed(4),
      resourceId,
    })),
  );
}

/**
 * Hourly rated usage over part of the month, prices with 4 decimals. A's instance runs two VMs each hour
 * (CloudKitty sums their prices as floats) to a period total of exactly x.xx50; the other totals end in
 * `tails` ten-thousandths. B's vcpus are rated too, though B does not meter vcpus.
 */
export function seedScenario(month: Date, [a, b]: Customer[], seed: number, tails: number[]): RatedUsage[] {
  const at = (d: number, h = 0) => new Date(month.getTime() + ((d - 1) * 24 + h) * HOUR);
  hourly(a!, ['instance', at(3), 40, seed, 0, '-vm1']);
  hourly(a!, ['instance', at(3), 40, seed + 8, 50, '-vm2']);
  hourly(a!, ['vcpus', at(5, 7), 60, seed + 4, tails[0]!]);
  hourly(b!, ['instance', at(10, 6), 30, seed + 2, tails[1]!]);
  hourly(b!, ['vcpus', at(10, 6), 30, seed + 9, tails[2]!]);
  return [...a!.usage, ...b!.usage];
}

export function exactTotal(usage: ReadonlyArray<{ price: string | Decimal }>): Decimal {
  return usage.reduce((a, u) => a.plus(u.price), new D(0));
}

/** Kill Bill GET as JSON, straight to the server. */
export async function kbGet<T>(tenant: KillBillTenant, path: string): Promise<T> {
  const res = await fetch(`${tenant.url}${path}`, { headers: tenantHeaders(tenant) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** The parts of Kill Bill's invoice JSON the test reads; 0.22 also lists the tracking ids it billed. */
export interface Invoice {
  items: Array<
    { itemType: string; usageName: string | null; subscriptionId: string | null } & InvoiceItemSpan
  >;
  trackingIds?: string[];
}
type InvoiceItemSpan = { startDate: string; endDate: string; amount: number };

/**
 * Fresh tenant, Kill Bill's clock set to `month` (00:00Z), the bridge on it through `front` (a proxy chain in
 * front of Kill Bill: whatever the test adds, then the 0.22 shim when the server is 0.22), two customers learnt
 * by the registry. What it starts is stopped by `cleanups`, last first.
 */
export async function setUpTenant(
  server: KillBillServer,
  cloudkitty: BridgeCloudKitty,
  month: Date,
  cleanups: Array<() => Promise<void>>,
  front: (url: string) => Promise<string> = async (url) => url,
) {
  const tenant = await createTenant({ useGlobalDefault: true });
  // One clock for the whole server: back to real time for whoever runs next, whatever fails here.
  cleanups.push(async () => void (await resetClock(tenant, 30)));
  await setClock(tenant, month.toISOString(), 30);
  const { url, shim } = await killBillFront(server, tenant.url, cleanups);
  const stack = await BridgeStack.start(tenant, await front(url), cloudkitty);
  cleanups.push(() => stack.close());
  const kb = new SeedingKillBillClient({ ...tenant, createdBy: 'e2e-test' });
  const { list, catalogRebuild, reconciled } = await createCustomers(kb, stack, month, tenant);
  return {
    tenant,
    kb,
    stack,
    list,
    catalogRebuild,
    reconciled,
    shim,
    rewritten: () => shim?.recordDates ?? 0,
  };
}
