import express from 'express';
import type { RedisClient } from '../jobs/redis-connection.js';
import { readinessHandler, type ReadinessCheck } from '../intake/readiness.js';
import type { Logger } from '../logging/logger.js';
import type { BridgeRuntime } from './bridge-runtime.js';
import type { DependencyWatch } from './dependency-watch.js';
import { DrainingServer } from './draining-server.js';
import type { StoppablePart } from './graceful-shutdown.js';
import { shownUrl } from '../config/masking.js';

/** A PING that takes longer is as good as no answer for a probe. */
const PING_TIMEOUT_MS = 2_000;

/** Redis answers PING now; the worker's connection queues commands while down, so it is not waited on. */
async function redisProblem(
  redis: RedisClient,
  url: string,
  watch: DependencyWatch,
): Promise<string | undefined> {
  // Read when the answer is given: a connection lost a moment ago has its reason by then.
  const lost = () =>
    watch.problem('redis') ?? `Redis at ${shownUrl(url)} is unreachable (connection lost; reconnecting)`;
  if (redis.status !== 'ready') return lost();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(
      () =>
        resolve(
          redis.status === 'ready' && !watch.problem('redis')
            ? `Redis at ${shownUrl(url)} did not answer PING within ${PING_TIMEOUT_MS / 1000}s`
            : lost(),
        ),
      PING_TIMEOUT_MS,
    );
  });
  const ping = redis.ping().then(
    (pong) => (pong === 'PONG' ? undefined : lost()),
    () => lost(),
  );
  return Promise.race([ping, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What a worker needs: Redis, asked now; Kill Bill and CloudKitty (or Keystone) as the jobs last found
 * them, since asking them on every probe would load them for nothing.
 */
export function workerReadiness(runtime: BridgeRuntime): ReadinessCheck[] {
  const { redis, config, watch } = runtime;
  return [
    { name: 'redis', check: () => redisProblem(redis, config.redis.url, watch) },
    { name: 'killbill', check: async () => watch.problem('killbill') },
    { name: 'cloudkitty', check: async () => watch.problem('cloudkitty') ?? watch.problem('keystone') },
  ];
}

/** `bridge worker`'s own small HTTP port: GET /healthz (alive) and GET /readyz (what is down, if anything). */
export class WorkerHealthServer implements StoppablePart {
  private server: DrainingServer | undefined;

  constructor(
    private readonly readiness: ReadinessCheck[],
    private readonly logger: Logger,
  ) {}

  get port(): number {
    return this.server?.port ?? 0;
  }

  async start(port: number, host = '0.0.0.0'): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'alive' });
    });
    app.get('/readyz', readinessHandler(this.readiness));
    app.use((_req, res) => {
      res.status(404).json({ error: 'not found; this port serves /healthz and /readyz' });
    });
    this.server = new DrainingServer(app);
    try {
      await this.server.listen(port, host);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new Error(
        `cannot listen on worker.healthPort ${port} (${why}); set BRIDGE_WORKER_HEALTH_PORT to a free port, or 0 for none`,
      );
    }
    this.logger.info(
      { event: 'worker.health_listening', port: this.port },
      `worker health on port ${this.port} (/healthz, /readyz)`,
    );
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }

  /** Probes are answered at once; none is worth naming. */
  stillRunning(): string[] {
    return [];
  }
}
