import { Queue } from 'bullmq';
import { createApiApp } from '../intake/api-app.js';
import type { BridgeConfig } from '../config/index.js';
import { dashboardCredentials } from '../dashboard/dashboard-auth.js';
import { createQueueDashboard, DASHBOARD_PATH, type QueueDashboard } from '../dashboard/queue-dashboard.js';
import { callbackUrl, ensureCallbackRegistered } from '../intake/callback-registration.js';
import { CallbackTokens } from '../intake/callback-token.js';
import { NotificationIntake } from '../intake/notification-intake.js';
import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import { createTenantClients } from '../clients/killbill/tenant-clients.js';
import type { Logger } from '../logging/logger.js';
import { BridgeMetrics } from '../metrics/bridge-metrics.js';
import { REGISTRY_QUEUE } from '../jobs/queue-names.js';
import { createRedisConnection, type RedisClient } from '../jobs/redis-connection.js';
import type { RegistryJobData } from '../jobs/registry-jobs.js';
import { DependencyWatch } from './dependency-watch.js';
import { DrainingServer } from './draining-server.js';
import type { StoppablePart } from './graceful-shutdown.js';
import { shownUrl } from '../config/masking.js';
import { isNetworkError } from './unreachable.js';

export interface ApiServiceOptions {
  config: BridgeConfig;
  logger: Logger;
  /** Port to listen on; default the configured one (0 = any free port). */
  port?: number;
  host?: string;
  /** Shared with the workers in `bridge start`, so one outage is said once. */
  watch?: DependencyWatch;
  /** Shared with the workers in `bridge start`, so /metrics reports both. */
  metrics?: BridgeMetrics;
}

/** `bridge api`: the intake endpoint, health, readiness and metrics, and the callback registration. */
export class ApiService implements StoppablePart {
  private server: DrainingServer | undefined;
  private dashboard: QueueDashboard | undefined;
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
  readonly metrics: BridgeMetrics;

  constructor(private readonly options: ApiServiceOptions) {
    this.watch = options.watch ?? new DependencyWatch({ logger: options.logger });
    this.metrics = options.metrics ?? BridgeMetrics.forConfig(options.config, { processMetrics: true });
    this.clients = createTenantClients(
      options.config,
      this.watch.killBillObserver(options.config.killbill.url),
      this.metrics.killBillObserver(),
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
    return this.server?.port ?? 0;
  }

  /** Requests being answered now: what a shutdown that runs out of time names. */
  stillRunning(): string[] {
    const n = this.server?.inFlight ?? 0;
    return n > 0 ? [`${n} request(s) in flight on the intake API`] : [];
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
    this.metrics.readFrom(this.redis, config.redis.prefix);
    const [defaultTenant] = this.clients.keys();
    const intake = new NotificationIntake({
      queue: this.queue,
      defaultTenant: defaultTenant!,
      tenants: this.clients.keys(),
      tokens: this.tokens,
      metrics: this.metrics.intake,
      logger,
    });
    const redis = this.redis;
    this.dashboard = this.startDashboard(redis);
    const app = createApiApp({
      intake,
      metrics: this.metrics.registry,
      dashboard: this.dashboard && { path: DASHBOARD_PATH, handler: this.dashboard.handler },
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
    this.server = new DrainingServer(app);
    await this.server.listen(this.options.port ?? config.server.port, this.options.host ?? '0.0.0.0');
    logger.info({ event: 'api.listening', port: this.port }, 'intake API listening');
    if (config.server.registerCallback) void this.registerCallbacks(1_000);
  }

  /** Bull Board when its credentials are configured; otherwise said once, since /admin/queues then 404s. */
  private startDashboard(redis: RedisClient): QueueDashboard | undefined {
    const { config, logger } = this.options;
    const credentials = dashboardCredentials(config.dashboard);
    if (!credentials) {
      logger.warn(
        { event: 'dashboard.off' },
        `queue dashboard off: set BRIDGE_DASHBOARD_USERNAME and BRIDGE_DASHBOARD_PASSWORD to serve it at ${DASHBOARD_PATH}`,
      );
      return undefined;
    }
    logger.info({ event: 'dashboard.on', path: DASHBOARD_PATH }, `queue dashboard at ${DASHBOARD_PATH}`);
    return createQueueDashboard({ connection: redis, prefix: config.redis.prefix, credentials, logger });
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
    // Requests in flight finish first: each one may still be putting a notification on the queue.
    await this.server?.close();
    await this.dashboard?.close();
    await this.queue?.close().catch(() => {});
    await this.metrics.close();
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
