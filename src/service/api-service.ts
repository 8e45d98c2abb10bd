import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createApiApp } from '../api/api-app.js';
import type { BridgeConfig } from '../config/index.js';
import { callbackUrl, ensureCallbackRegistered } from '../intake/callback-registration.js';
import { CallbackTokens } from '../intake/callback-token.js';
import { IntakeMetrics } from '../intake/intake-metrics.js';
import { NotificationIntake } from '../intake/notification-intake.js';
import type { KillBillClient } from '../killbill/killbill-client.js';
import { createTenantClients } from '../killbill/tenant-clients.js';
import type { Logger } from '../logging/logger.js';
import { REGISTRY_QUEUE } from '../queues/queue-names.js';
import { createRedisConnection, type RedisClient } from '../queues/redis-connection.js';
import type { RegistryJobData } from '../queues/registry-jobs.js';
import { DependencyWatch } from './dependency-watch.js';
import { isNetworkError, shownUrl } from './unreachable.js';

export interface ApiServiceOptions {
  config: BridgeConfig;
  logger: Logger;
  /** Port to listen on; default the configured one (0 = any free port). */
  port?: number;
  host?: string;
  /** Shared with the workers in `bridge start`, so one outage is said once. */
  watch?: DependencyWatch;
}

/** `bridge api`: the intake endpoint, health, readiness and metrics, and the callback registration. */
export class ApiService {
  private server: Server | undefined;
  private redis: RedisClient | undefined;
  private queue: Queue<RegistryJobData> | undefined;
  private readonly registered = new Set<string>();
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Why the last registration attempt failed, per tenant; cleared once registered. */
  private readonly callbackFailures = new Map<string, string>();
  readonly clients: Map<string, KillBillClient>;
  readonly tokens: CallbackTokens;
  readonly watch: DependencyWatch;

  constructor(private readonly options: ApiServiceOptions) {
    this.watch = options.watch ?? new DependencyWatch({ logger: options.logger });
    this.clients = createTenantClients(
      options.config,
      this.watch.killBillObserver(options.config.killbill.url),
    );
    this.tokens = new CallbackTokens({
      configured: options.config.server.callbackToken,
      prefix: options.config.redis.prefix,
      redis: () => {
        if (!this.redis) throw new Error('the intake API is not started');
        return Promise.resolve(this.redis);
      },
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const { config, logger } = this.options;
    this.redis = createRedisConnection(config.redis, 'producer');
    this.watch.watchRedis(this.redis, config.redis.url, 'api');
    this.queue = new Queue<RegistryJobData>(REGISTRY_QUEUE, {
      connection: this.redis,
      prefix: config.redis.prefix,
    });
    this.queue.on('error', (err) =>
      logger.debug({ event: 'queue.error', err: err.message }, 'registry queue error'),
    );
    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics });
    const [defaultTenant] = this.clients.keys();
    const intake = new NotificationIntake({
      queue: this.queue,
      defaultTenant: defaultTenant!,
      tenants: this.clients.keys(),
      tokens: this.tokens,
      metrics: new IntakeMetrics(metrics),
      logger,
    });
    const redis = this.redis;
    const app = createApiApp({
      intake,
      metrics,
      readiness: [
        {
          name: 'redis',
          check: async () => {
            const ok = await redis.ping().then(
              (pong) => pong === 'PONG',
              () => false,
            );
            // Between losing the connection and the first failed reconnect, the watch has no reason yet.
            const lost = `Redis at ${shownUrl(config.redis.url)} is unreachable (connection lost; reconnecting)`;
            return ok ? undefined : (this.watch.problem('redis') ?? lost);
          },
        },
        { name: 'killbill callback', check: async () => this.callbackProblem() },
      ],
    });
    // No 'upgrade' listener on purpose: Kill Bill 0.24 sends `Upgrade: h2c` on plain HTTP, and Node hands
    // such a request to the normal handler only when nobody listens for upgrades (contract §2.2).
    this.server = createServer(app);
    const port = this.options.port ?? config.server.port;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, this.options.host ?? '0.0.0.0', () => resolve());
    });
    logger.info({ event: 'api.listening', port: this.port }, 'intake API listening');
    if (config.server.registerCallback) void this.registerCallbacks(1_000);
  }

  /** Keeps trying until every tenant's callback is registered: Kill Bill may start after the bridge. */
  private async registerCallbacks(delayMs: number): Promise<void> {
    const { config, logger } = this.options;
    const [defaultTenant] = this.clients.keys();
    if (!this.tokens.configured) await connectedOrLater(this.redis!, 2_000);
    for (const [apiKey, client] of this.clients) {
      if (this.registered.has(apiKey) || this.stopping) continue;
      try {
        const token = await this.tokens.forRegistration(apiKey);
        const url = callbackUrl(
          config.server.publicUrl,
          token,
          apiKey === defaultTenant ? undefined : apiKey,
        );
        await ensureCallbackRegistered(client, url, logger);
        this.registered.add(apiKey);
        this.callbackFailures.delete(apiKey);
      } catch (err) {
        const message = (err as Error).message;
        // Kill Bill not answering is said by the watch; a refusal is said once per distinct reason.
        const quiet = isNetworkError(err) || this.callbackFailures.get(apiKey) === message;
        this.callbackFailures.set(apiKey, message);
        logger[quiet ? 'debug' : 'warn'](
          { event: 'callback.registration_failed', tenant: apiKey, err: message, retryInMs: delayMs },
          'could not register the callback (Kill Bill or Redis unreachable?); will retry',
        );
      }
    }
    if (this.registered.size < this.clients.size && !this.stopping) {
      this.retryTimer = setTimeout(() => void this.registerCallbacks(Math.min(delayMs * 2, 60_000)), delayMs);
    }
  }

  /** Why /readyz must wait for the callback, or undefined once every tenant's is registered. */
  private callbackProblem(): string | undefined {
    if (!this.options.config.server.registerCallback || this.callbacksRegistered) return undefined;
    const missing = [...this.clients.keys()].filter((k) => !this.registered.has(k));
    const why =
      this.watch.problem('killbill') ??
      [...new Set(missing.map((k) => this.callbackFailures.get(k)).filter(Boolean))].join('; ');
    return `not registered for tenant(s) ${missing.join(', ')}${why ? `: ${why}` : ' yet'}`;
  }

  /** True once every tenant's callback is known to be registered. */
  get callbacksRegistered(): boolean {
    return this.registered.size === this.clients.size;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    if (this.server) {
      const server = this.server;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    await this.queue?.close().catch(() => {});
    this.redis?.disconnect();
    this.options.logger.info({ event: 'api.stopped' }, 'intake API stopped');
  }
}

/**
 * The producer connection refuses commands until it is connected; waiting a moment at start spares a
 * failed first registration (and its warning) while Redis is merely still connecting.
 */
function connectedOrLater(redis: RedisClient, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
  });
}
