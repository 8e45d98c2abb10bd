import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import type { BridgeConfig } from '../../src/config/index.js';
import { SeedingKillBillClient } from '../support/seeding-killbill-client.js';
import { silentLogger } from '../../src/logging/logger.js';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { ApiService } from '../../src/app/api-service.js';
import { createBridgeRuntime, type BridgeRuntime } from '../../src/app/bridge-runtime.js';
import { WorkerService } from '../../src/app/worker-service.js';
import { testConfig } from '../support/bridge-config.js';
import { FaultProxy } from '../support/fault-proxy.js';
import type { KillBillServer, KillBillTenant } from '../support/killbill-server.js';
import { RedisServer } from '../support/redis-server.js';
import { Exposition } from './exposition.js';
import { startKillBill022Shim, type KillBill022Shim } from '../support/killbill-022-shim.js';
import { seededCloudKittyEnv } from '../support/cloudkitty.js';

const CATALOG = new URL('../../catalog/catalog.xml', import.meta.url);
const HOUR = 3_600_000;
export const UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' } as const;

/** Hourly prices per metric in tenths of a cent, so cents come from rounding; few: Kill Bill 0.22 records slowly. */
export function hoursOfUsage(projectId: string, start: number, hours = 8): RatedUsage[] {
  return Object.keys(UNITS).flatMap((metric, m) =>
    Array.from({ length: hours }, (_, h) => ({
      begin: new Date(start + h * HOUR),
      projectId,
      metric,
      price: new Decimal(100 + ((h * 37 + m * 11) % 89)).div(1000).toString(),
    })),
  );
}

/** Whole cents, half up, of everything seeded for a metric: what Kill Bill must end up holding. */
export function expectedCents(usage: RatedUsage[], metric: string): number {
  const total = usage.filter((u) => u.metric === metric).reduce((a, u) => a.plus(u.price), new Decimal(0));
  return total.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
}

/** A Kill Bill client for the test's own calls: straight to the server, so the bridge's metrics never see them. */
export function directClient(tenant: KillBillTenant): SeedingKillBillClient {
  return new SeedingKillBillClient({ ...tenant, createdBy: 'metrics-test' });
}

export async function uploadCatalog(kb: SeedingKillBillClient): Promise<void> {
  await kb.uploadCatalogXml(readFileSync(CATALOG, 'utf8'));
}

/** A UTC account metered on `projectId`, with one subscription from `startDate` (YYYY-MM-DD). */
export async function meteredAccount(
  kb: SeedingKillBillClient,
  name: string,
  projectId: string,
  startDate: string,
) {
  const accountId = await kb.createAccount({ name, currency: 'USD', timeZone: 'UTC', externalKey: name });
  await kb.addAccountCustomFields(accountId, [
    { name: FIELD.enabled, value: 'true' },
    { name: FIELD.projectId, value: projectId },
    { name: FIELD.metrics, value: 'instance,vcpus' },
  ]);
  const subscriptionId = await kb.createSubscription(accountId, 'openstack-standard-monthly', startDate);
  return { accountId, subscriptionId };
}

/**
 * The bridge as `bridge start` runs it (intake API and workers in one process, one BridgeMetrics), on a
 * real Redis, against the real Kill Bill and CloudKitty, each behind a fault proxy that sees every request.
 */
export class MeteredBridge {
  private workers: WorkerService | undefined;

  private constructor(
    readonly redis: RedisServer,
    readonly config: BridgeConfig,
    readonly metrics: BridgeMetrics,
    readonly runtime: BridgeRuntime,
    readonly api: ApiService,
    readonly killbill: FaultProxy,
    readonly cloudkitty: FaultProxy,
    private readonly shim: KillBill022Shim | undefined,
  ) {}

  static async start(server: KillBillServer, tenant: KillBillTenant, cloudkittyUrl: string) {
    const shim = server.version.startsWith('0.22.') ? await startKillBill022Shim(tenant.url) : undefined;
    const killbill = await FaultProxy.start(shim?.url ?? tenant.url);
    const cloudkitty = await FaultProxy.start(cloudkittyUrl);
    const redis = await RedisServer.start();
    const config = testConfig({
      REDIS_URL: redis.url,
      KILLBILL_URL: killbill.url,
      KILLBILL_USERNAME: tenant.username,
      KILLBILL_PASSWORD: tenant.password,
      KILLBILL_API_KEY: tenant.apiKey,
      KILLBILL_API_SECRET: tenant.apiSecret,
      ...seededCloudKittyEnv(cloudkitty.url),
      BRIDGE_REGISTER_CALLBACK: 'false',
    });
    const metrics = BridgeMetrics.forConfig(config);
    const runtime = createBridgeRuntime(config, silentLogger, { metrics });
    const api = new ApiService({ config, logger: silentLogger, port: 0, host: '127.0.0.1', metrics });
    await api.start();
    return new MeteredBridge(redis, config, metrics, runtime, api, killbill, cloudkitty, shim);
  }

  get tenant(): string {
    return this.config.killbill.apiKey;
  }

  get url(): string {
    return `http://127.0.0.1:${this.api.port}`;
  }

  /** GET /metrics over HTTP, parsed. */
  async scrape(): Promise<Exposition> {
    const res = await fetch(`${this.url}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    return Exposition.parse(await res.text());
  }

  async startWorkers(): Promise<void> {
    this.workers = new WorkerService(this.runtime);
    await this.workers.start();
  }

  /** Stops the workers and drops their connection: the API is left running alone, as `bridge api`. */
  async stopWorkers(): Promise<void> {
    await this.workers?.stop();
    this.workers = undefined;
    this.runtime.redis.disconnect();
  }

  /** BullMQ's own job counts of a queue, read straight from Redis. */
  async jobCounts(queue: string): Promise<Record<string, number>> {
    const connection = this.redis.client();
    const q = new Queue(queue, { connection, prefix: this.config.redis.prefix });
    try {
      return await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
    } finally {
      await q.close();
      connection.disconnect();
    }
  }

  async close(): Promise<void> {
    await this.workers?.stop();
    await this.api.stop();
    await this.runtime.close();
    await Promise.all([this.killbill.close(), this.cloudkitty.close(), this.shim?.close()]);
    await this.redis.close();
  }
}
