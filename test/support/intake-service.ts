import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { silentLogger } from '../../src/logging/logger.js';
import { ApiService } from '../../src/app/api-service.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { RedisServer } from './redis-server.js';
import { testConfig } from './bridge-config.js';

/** The real intake (`ApiService`, callback registration off) on a Redis of its own, and its registry queue. */
export interface IntakeService {
  redis: RedisServer;
  api: ApiService;
  /** The registry queue the intake adds to, read through a connection of the test's own. */
  queue: Queue;
  /** `http://127.0.0.1:PORT`. */
  base: string;
  close(): Promise<void>;
}

/** Starts it with `env` on top of the test configuration (e.g. `KILLBILL_EXTRA_TENANTS`). */
export async function startIntakeService(env: Record<string, string> = {}): Promise<IntakeService> {
  const redis = await RedisServer.start();
  const config = testConfig({ REDIS_URL: redis.url, BRIDGE_REGISTER_CALLBACK: 'false', ...env });
  const api = new ApiService({ config, logger: silentLogger, port: 0, host: '127.0.0.1' });
  await api.start();
  const queue = new Queue(REGISTRY_QUEUE, { connection: { url: redis.url }, prefix: config.redis.prefix });
  return {
    redis,
    api,
    queue,
    base: `http://127.0.0.1:${api.port}`,
    close: async () => {
      await queue.close();
      await api.stop();
      await redis.close();
    },
  };
}

/** A Kill Bill account event in the five-key shape the intake takes; of a new account unless one is named. */
export function accountNotification(eventType = 'ACCOUNT_CREATION', accountId: string = randomUUID()) {
  return { eventType, accountId, objectType: 'ACCOUNT', objectId: accountId, metaData: null };
}
