import { Queue, type Worker } from 'bullmq';
import type { BridgeConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logging/logger.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import type { RegistryJobData } from '../../src/jobs/registry-jobs.js';
import { ApiService } from '../../src/app/api-service.js';
import { createBridgeRuntime, type BridgeRuntime } from '../../src/app/bridge-runtime.js';
import { createRegistryWorker } from '../../workers/registry-worker.js';
import { testConfig } from '../support/bridge-config.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { killBillForBridge, type MeteredTenant } from '../support/metered-tenant.js';
import { RedisServer } from '../support/redis-server.js';
import { freePort, waitFor } from '../support/wait.js';
import { seededCloudKittyEnv } from '../support/cloudkitty.js';

/**
 * One bridge serving several tenants of the real Kill Bill: the first is `killbill.apiKey`, the others
 * `killbill.extraTenants`. One Redis, the intake API (it registers one callback per tenant, with a token
 * of its own for each: no `server.callbackToken`), the registry worker, and the runtime the sync uses.
 */
export class TenantBridge {
  private constructor(
    readonly redis: RedisServer,
    readonly proxy: FaultProxy,
    readonly config: BridgeConfig,
    readonly api: ApiService,
    readonly runtime: BridgeRuntime,
    private readonly worker: Worker<RegistryJobData>,
    /** For reading job states only; on its own connection. */
    readonly registryQueue: Queue<RegistryJobData>,
  ) {}

  static async start(tenants: MeteredTenant[], cloudkittyUrl: string): Promise<TenantBridge> {
    const [first, ...extra] = tenants;
    const redis = await RedisServer.start();
    const proxy = await killBillForBridge();
    const port = await freePort();
    const config = testConfig({
      ...first!.env(),
      KILLBILL_URL: proxy.url,
      KILLBILL_EXTRA_TENANTS: JSON.stringify(extra.map((t) => t.credentials)),
      BRIDGE_CALLBACK_TOKEN: '',
      REDIS_URL: redis.url,
      ...seededCloudKittyEnv(cloudkittyUrl),
      BRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    });
    const api = new ApiService({ config, logger: silentLogger, port, host: '127.0.0.1' });
    await api.start();
    await waitFor('the intake has registered a callback for every tenant', () => api.callbacksRegistered, {
      timeoutMs: 30_000,
    });
    const runtime = createBridgeRuntime(config, silentLogger);
    const worker = createRegistryWorker({
      connection: runtime.redis,
      prefix: config.redis.prefix,
      registrar: runtime.registrar,
      logger: silentLogger,
    });
    const registryQueue = new Queue<RegistryJobData>(REGISTRY_QUEUE, {
      connection: { url: redis.url },
      prefix: config.redis.prefix,
    });
    return new TenantBridge(redis, proxy, config, api, runtime, worker, registryQueue);
  }

  get intakeUrl(): string {
    return `http://127.0.0.1:${this.api.port}`;
  }

  /** Posts a notification to the intake as Kill Bill would, at `path` with `token`. */
  async notify(path: string, token: string, body: Record<string, unknown>) {
    const res = await fetch(`${this.intakeUrl}${path}?token=${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Waits until the registry job `jobId` is completed or failed for good, and says which. */
  async finalState(jobId: string, timeoutMs = 30_000): Promise<{ state: string; reason?: string }> {
    return waitFor(
      `registry job ${jobId} has completed or failed for good`,
      async () => {
        const job = await this.registryQueue.getJob(jobId);
        const state = job ? await job.getState() : 'missing';
        if (state === 'completed') return { state };
        // Read again: the job read above may predate the move to failed, and so its reason.
        if (state === 'failed')
          return { state, reason: (await this.registryQueue.getJob(jobId))?.failedReason };
        return undefined;
      },
      { timeoutMs },
    );
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.registryQueue.close();
    await this.api.stop();
    await this.runtime.close();
    await this.proxy.close();
    await this.redis.close();
  }
}

/** An ACCOUNT_CREATION push, as Kill Bill sends it. */
export const accountCreation = (accountId: string) => ({
  eventType: 'ACCOUNT_CREATION',
  accountId,
  objectType: 'ACCOUNT',
  objectId: accountId,
  metaData: null,
});

/** The `token` query parameter of a callback URL Kill Bill holds. */
export const tokenOf = (callbackUrl: string): string => new URL(callbackUrl).searchParams.get('token') ?? '';
