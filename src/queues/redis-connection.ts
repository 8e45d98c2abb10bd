import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker';

/**
 * A Redis connection for BullMQ. A producer fails a command at once while Redis is unreachable, so the
 * intake can answer 503 and Kill Bill retries; a worker waits and reconnects, as BullMQ requires.
 */
export function createRedisConnection(url: string, role: RedisRole): Redis {
  const options: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  options.retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5_000);
  const redis = new Redis(url, options);
  // ioredis reports every failed reconnect as an 'error' event; the owner decides what to log.
  redis.on('error', () => {});
  return redis;
}
