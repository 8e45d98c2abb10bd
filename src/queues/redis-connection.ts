import { Redis, type RedisOptions } from 'ioredis';
import { networkReason, shownUrl, UnreachableError } from '../service/unreachable.js';

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

/**
 * Connects once, for a command a person waits on: no retrying forever as the services do. Throws
 * {@link UnreachableError} ("Redis at URL is unreachable (why)") when Redis does not answer.
 */
export async function connectRedisOnce(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis rejects with "Connection is closed"; the socket error it emitted first says why.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw new UnreachableError('redis', shownUrl(url), networkReason(cause ?? err));
  }
}
