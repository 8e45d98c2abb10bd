import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Queue, type Worker } from 'bullmq';
import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { SeedingKillBillClient } from '../support/seeding-killbill-client.js';
import { createLogger, silentLogger } from '../../src/logging/logger.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { BRIDGE_QUEUES } from '../../src/jobs/queue-names.js';
import { createRedisConnection, type RedisClient } from '../../src/jobs/redis-connection.js';
import type { RegistryJobData } from '../../src/jobs/registry-jobs.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { ApiService } from '../../src/app/api-service.js';
import { createBridgeRuntime, type BridgeRuntime } from '../../src/app/bridge-runtime.js';
import { createRegistryWorker } from '../../workers/registry-worker.js';
import { runBridge, type CliRun } from '../support/bridge-cli.js';
import { testConfig, TEST_TOKEN } from '../support/bridge-config.js';
import { seedRatedUsage, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  createTenant,
  resetClock,
  setClock,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { catalogRebuildSettled } from '../support/catalog-rebuild.js';
import { killBillFront } from '../support/killbill-022-shim.js';
import { RedisServer } from '../support/redis-server.js';
import { freePort, waitFor } from '../support/wait.js';

export const UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' } as const;
export type Metric = keyof typeof UNITS;
const METRICS: Metric[][] = [['instance', 'vcpus'], ['instance'], ['vcpus']];
const HOUR = 3_600_000;
const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
export const USAGE_POSTS = { method: 'POST', path: '/1.0/kb/usages' } as const;

export interface FaultCustomer {
  name: string;
  projectId: string;
  metrics: Metric[];
  accountId: string;
  subscriptionId: string;
  usage: RatedUsage[];
}

/** The month before the real one: `bridge sync --once` and `bridge reconcile` run on the real clock. */
export function lastMonth(): { month: Date; next: Date; period: string } {
  const today = new Date();
  const month = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
  const next = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
  return { month, next, period: month.toISOString().slice(0, 7) };
}

/** What a `bridge sync --json` printed, the parts the scenarios read. */
export interface SyncDoc {
  metered: number;
  synced: number;
  totals: { records: number; alreadyRecorded: number; corrections: number; failed: number };
  results: Array<{ subscriptionId: string; records: number; alreadyRecorded: number; error?: string }>;
}

export function syncDoc(run: { stdout: string }): SyncDoc {
  return JSON.parse(run.stdout) as SyncDoc;
}

interface ReconcileLine {
  accountId: string;
  subscriptionId: string;
  unit: string;
  cloudkittyCents: number;
  recordedCents: number;
  differenceCents: number;
}

/**
 * The bridge as deployed for the fault scenarios, on a fresh tenant of the REAL Kill Bill and the real
 * CloudKitty: its own real Redis (AOF on when asked), the intake API in this process (Kill Bill pushes to
 * it through `intakeProxy`), the registry worker, and `bridge sync` / `bridge reconcile` run as subprocesses.
 * The bridge reaches Kill Bill through `kbProxy` and CloudKitty through `ckProxy`, both fault proxies; on 0.22
 * the 0.24 request shapes are bridged by the 0.22 shim (test/support/killbill-022-shim.ts) behind the Kill
 * Bill proxy.
 */
export class FaultStack {
  /** The registry rebuild the catalog upload asked for, finished before any account existed. */
  catalogRebuild: { at: number; accounts: number } | null = null;

  private constructor(
    readonly server: KillBillServer,
    readonly cloudkitty: CloudKittyInstance,
    readonly tenant: KillBillTenant,
    readonly kb: SeedingKillBillClient,
    readonly redis: RedisServer,
    readonly api: ApiService,
    readonly runtime: BridgeRuntime,
    readonly kbProxy: FaultProxy,
    readonly ckProxy: FaultProxy,
    /** In front of the intake: the callback URL Kill Bill holds is this proxy's, so it sees every push. */
    readonly intakeProxy: FaultProxy,
    /** Kill Bill without faults (shims only): what `bridge reconcile` reads. */
    private readonly cleanUrl: string,
    readonly period: string,
    readonly month: Date,
    private readonly worker: Worker<RegistryJobData>,
    private readonly workerConnection: RedisClient,
    private readonly apiLog: string[],
  ) {}

  /** Why the intake refused notifications (400), as it logged them: `event type: reason`, with counts. */
  intakeRejections(): string[] {
    const seen = new Map<string, number>();
    for (const line of this.apiLog) {
      const l = JSON.parse(line) as { event?: string; reason?: string };
      if (l.event !== 'intake.rejected') continue;
      seen.set(String(l.reason), (seen.get(String(l.reason)) ?? 0) + 1);
    }
    return [...seen].map(([reason, n]) => `${n}× ${reason}`);
  }

  readonly customers: FaultCustomer[] = [];

  static async start(
    server: KillBillServer,
    cloudkitty: CloudKittyInstance,
    cleanups: Array<() => Promise<void>>,
    options: { appendOnly?: boolean } = {},
  ): Promise<FaultStack> {
    const { month, period } = lastMonth();
    const tenant = await createTenant({ useGlobalDefault: true, server });
    cleanups.push(async () => void (await resetClock(tenant, 30)));
    await setClock(tenant, month.toISOString(), 30);
    const { url } = await killBillFront(server, tenant.url, cleanups);
    const kbProxy = await FaultProxy.start(url);
    cleanups.push(() => kbProxy.close());
    const ckProxy = await FaultProxy.start(cloudkitty.url);
    cleanups.push(() => ckProxy.close());
    const redis = await RedisServer.start({ appendOnly: options.appendOnly });
    cleanups.push(() => redis.close());
    const port = await freePort();
    const intakeProxy = await FaultProxy.start(`http://127.0.0.1:${port}`);
    cleanups.push(() => intakeProxy.close());
    const config = testConfig({
      REDIS_URL: redis.url,
      KILLBILL_URL: kbProxy.url,
      KILLBILL_USERNAME: tenant.username,
      KILLBILL_PASSWORD: tenant.password,
      KILLBILL_API_KEY: tenant.apiKey,
      KILLBILL_API_SECRET: tenant.apiSecret,
      CLOUDKITTY_URL: ckProxy.url,
      CLOUDKITTY_SCOPE_STATE: 'optional',
      BRIDGE_PUBLIC_URL: intakeProxy.url,
      BRIDGE_REGISTER_CALLBACK: 'true',
    });
    // The intake's warnings are kept: a notification it refuses is one Kill Bill will not send again.
    const apiLog: string[] = [];
    const logger = createLogger({
      level: 'warn',
      name: 'fault-api',
      destination: { write: (l) => void apiLog.push(l) },
    });
    const api = new ApiService({ config, logger, port, host: '127.0.0.1' });
    await api.start();
    cleanups.push(() => api.stop());
    await waitFor('the intake has registered its callback with Kill Bill', () => api.callbacksRegistered, {
      timeoutMs: 30_000,
    });
    const runtime = createBridgeRuntime(config, silentLogger);
    cleanups.push(() => runtime.close());
    const workerConnection = createRedisConnection(redis.url, 'worker');
    workerConnection.on('error', () => {});
    const worker = createRegistryWorker({
      connection: workerConnection,
      prefix: config.redis.prefix,
      registrar: runtime.registrar,
      logger: silentLogger,
    });
    cleanups.push(async () => {
      await worker.close();
      workerConnection.disconnect();
    });
    const kb = new SeedingKillBillClient({ ...tenant, createdBy: 'fault-test' });
    await kb.uploadCatalogXml(readFileSync(new URL('../../catalog/catalog.xml', import.meta.url), 'utf8'));
    // A catalog change makes the bridge rebuild the registry; that rebuild is let finish before any
    // account exists, so the scenarios learn accounts from notifications only.
    const catalogRebuild = await catalogRebuildSettled(
      tenant,
      redis.url,
      config.redis.prefix,
      runtime.registry,
    );
    const stack = new FaultStack(
      server,
      cloudkitty,
      tenant,
      kb,
      redis,
      api,
      runtime,
      kbProxy,
      ckProxy,
      intakeProxy,
      url,
      period,
      month,
      worker,
      workerConnection,
      apiLog,
    );
    stack.catalogRebuild = catalogRebuild;
    return stack;
  }

  /**
   * `n` more UTC accounts with the metering fields (instance and vcpus, instance only, vcpus only, in turn)
   * and a subscription from the 1st of the month, made straight in Kill Bill; only its push notifications
   * tell the bridge. Does not wait for the registry ({@link waitMetered}).
   */
  async addCustomers(n: number): Promise<FaultCustomer[]> {
    const added: FaultCustomer[] = [];
    for (let i = 0; i < n; i++) {
      const metrics = METRICS[this.customers.length % METRICS.length]!;
      const projectId = randomUUID().replace(/-/g, '');
      const name = `fault-${this.customers.length}-${randomUUID().slice(0, 8)}`;
      const accountId = await this.kb.createAccount({
        name,
        currency: 'USD',
        timeZone: 'UTC',
        externalKey: name,
      });
      await this.kb.addAccountCustomFields(accountId, [
        { name: FIELD.enabled, value: 'true' },
        { name: FIELD.projectId, value: projectId },
        { name: FIELD.metrics, value: metrics.join(',') },
      ]);
      const subscriptionId = await this.kb.createSubscription(
        accountId,
        'openstack-standard-monthly',
        this.month.toISOString().slice(0, 10),
      );
      const c = { name, projectId, metrics: [...metrics], accountId, subscriptionId, usage: [] };
      this.customers.push(c);
      added.push(c);
    }
    return added;
  }

  /** Until the registry shows each of `list` metered as made, learnt from Kill Bill's push notifications. */
  async waitMetered(list: FaultCustomer[], timeoutMs = 60_000): Promise<void> {
    const tenant = this.tenant.apiKey;
    await waitFor(
      `the registry shows ${list.length} subscription(s) metered, from Kill Bill push notifications`,
      async () => {
        for (const c of list) {
          const e = await this.runtime.registry.entry(tenant, c.subscriptionId);
          if (e?.status !== 'metered' || e.projectId !== c.projectId) return false;
          if (Object.keys(e.units).sort().join() !== c.metrics.join()) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /**
   * A day of hourly rated usage (day `dayOfMonth` of the month, its first `hours`) for every customer and BOTH
   * metrics, metered or not: prices with 4 decimals, deterministic by `seed`. Seeded straight into CloudKitty.
   */
  async seedDay(dayOfMonth: number, seed: number, list = this.customers, hours = 24): Promise<number> {
    const usage: RatedUsage[] = [];
    const start = this.month.getTime() + (dayOfMonth - 1) * 24 * HOUR;
    list.forEach((c, ci) => {
      for (const metric of ['instance', 'vcpus'] as const) {
        for (let h = 0; h < hours; h++) {
          const price = new D(1000 + ((h * 37 + seed * 13 + ci * 7 + (metric === 'vcpus' ? 5 : 0)) % 893))
            .div(10_000)
            .toFixed(4);
          const u = {
            begin: new Date(start + h * HOUR),
            projectId: c.projectId,
            metric,
            price,
            resourceId: `${c.projectId}-${metric}`,
          };
          c.usage.push(u);
          usage.push(u);
        }
      }
    });
    await seedRatedUsage(this.cloudkitty.url, usage);
    return usage.length;
  }

  /** What Kill Bill must hold for a customer's metric: CloudKitty's exact total, half-up to the cent. */
  cents(c: FaultCustomer, metric: Metric): number {
    return c.usage
      .filter((u) => u.metric === metric)
      .reduce((s, u) => s.plus(u.price), new D(0))
      .times(100)
      .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
      .toNumber();
  }

  /** The environment of a `bridge` subprocess through the fault proxies. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      REDIS_URL: this.redis.url,
      KILLBILL_URL: this.kbProxy.url,
      KILLBILL_USERNAME: this.tenant.username,
      KILLBILL_PASSWORD: this.tenant.password,
      KILLBILL_API_KEY: this.tenant.apiKey,
      KILLBILL_API_SECRET: this.tenant.apiSecret,
      CLOUDKITTY_URL: this.ckProxy.url,
      CLOUDKITTY_SCOPE_STATE: 'optional',
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
      BRIDGE_REGISTER_CALLBACK: 'false',
      LOG_LEVEL: 'info',
      ...extra,
    };
  }

  /** `bridge sync --once --json` to its end. */
  sync(extra: Record<string, string> = {}): Promise<CliRun> {
    return runBridge(['sync', '--once', '--json'], this.env(extra), 120_000);
  }

  /**
   * THE invariant: `bridge reconcile --period --json` (straight to Kill Bill and CloudKitty, no fault) exits 0,
   * with one line per metered subscription and unit, each CloudKitty's total to the cent and difference 0.
   * And every failed BullMQ job is still there to inspect, with its reason. Returns a line of figures.
   */
  async assertReconciled(): Promise<string> {
    const run = await runBridge(
      ['reconcile', '--period', this.period, '--json'],
      this.env({ KILLBILL_URL: this.cleanUrl, CLOUDKITTY_URL: this.cloudkitty.url, LOG_LEVEL: 'warn' }),
      120_000,
    );
    expect(run.code, `bridge reconcile exit code; stderr: ${run.stderr.slice(-2000)}`).to.equal(0);
    const doc = JSON.parse(run.stdout) as {
      ok: boolean;
      lines: ReconcileLine[];
      totals: Record<string, { cloudkittyCents: number; billedCents: number; differenceCents: number }>;
    };
    expect(doc.ok).to.equal(true);
    const want = this.customers.flatMap((c) =>
      c.metrics.map((m) => ({ subscriptionId: c.subscriptionId, unit: UNITS[m], cents: this.cents(c, m) })),
    );
    expect(doc.lines, 'one reconcile line per metered subscription and unit').to.have.length(want.length);
    for (const w of want) {
      const line = doc.lines.find((l) => l.subscriptionId === w.subscriptionId && l.unit === w.unit);
      expect(line, `${w.subscriptionId} ${w.unit}`).to.include({
        cloudkittyCents: w.cents,
        recordedCents: w.cents,
        differenceCents: 0,
      });
    }
    const failed = await this.failedJobs();
    const usd = doc.totals.USD!;
    const n = await this.intakeCounts();
    const rejected = this.intakeRejections();
    return (
      `notifications: ${n.queued ?? 0} accepted, ${n.unavailable ?? 0} answered 503, ${n.rejected ?? 0} rejected` +
      `${rejected.length ? ` (${rejected.join('; ')})` : ''}, ${n.ignored ?? 0} ignored | ` +
      `reconcile ${this.period}: ${doc.lines.length} lines, CloudKitty ${(usd.cloudkittyCents / 100).toFixed(2)} ` +
      `billed ${(usd.billedCents / 100).toFixed(2)} difference ${(usd.differenceCents / 100).toFixed(2)}, exit 0; ` +
      `failed jobs kept: ${failed}`
    );
  }

  /** Every failed job of the bridge's queues, each still readable with its data and reason; their count. */
  async failedJobs(): Promise<number> {
    let total = 0;
    for (const { name } of BRIDGE_QUEUES) {
      const queue = new Queue(name, { connection: { url: this.redis.url }, prefix: 'osb' });
      try {
        const count = await queue.getFailedCount();
        const jobs = await queue.getFailed(0, -1);
        expect(jobs, `failed jobs of ${name} listed`).to.have.length(count);
        for (const j of jobs)
          expect(j.failedReason, `failed job ${j.id} of ${name} says why`).to.be.a('string');
        total += count;
      } finally {
        await queue.close();
      }
    }
    return total;
  }

  /** Intake answers so far: by outcome, summed over event types. */
  async intakeCounts(): Promise<Record<string, number>> {
    const got = await this.api.metrics.registry.getSingleMetric('bridge_notifications_total')!.get();
    const out: Record<string, number> = {};
    for (const v of got.values) {
      const k = String(v.labels.outcome);
      out[k] = (out[k] ?? 0) + v.value;
    }
    return out;
  }

  /** Usage POSTs Kill Bill took (201), answered "already recorded" (400 code 50000), and the rest. */
  postOutcomes(): { created: number; already: number; faulted: number; trackingIds: string[] } {
    const posts = this.kbProxy.seen(USAGE_POSTS);
    const created = posts.filter((p) => p.outcome === 201);
    return {
      created: created.length,
      already: posts.filter((p) => p.outcome === 400).length,
      faulted: posts.filter((p) => p.outcome !== 201 && p.outcome !== 400).length,
      trackingIds: created.map((p) => (JSON.parse(p.body) as { trackingId: string }).trackingId),
    };
  }

  /** Windows with money, over all customers: the records a complete, exactly-once sync makes. */
  get expectedRecords(): number {
    // Every seeded hour has a price of at least 0.1000 per metric, so every window of a metered metric
    // records at least a cent: one record per (subscription, hour) seeded.
    return this.customers.reduce((s, c) => s + new Set(c.usage.map((u) => +u.begin)).size, 0);
  }
}
