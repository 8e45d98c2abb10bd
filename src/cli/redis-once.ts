import { Redis } from 'ioredis';

/** Redis could not be reached; the message says where and why, without the password. */
export class RedisUnreachable extends Error {}

/** The Redis URL without its password, for messages. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'the configured Redis';
  }
}

/** Connects once, without retrying forever as the services do: a person is waiting for an answer. */
export async function connectRedis(url: string): Promise<Redis> {
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
    throw new RedisUnreachable(
      `Redis at ${shownUrl(url)} is unreachable (${(cause ?? (err as Error)).message})`,
    );
  }
}

/** One connection made on first use, for commands that need Redis only on some paths. */
export function redisOnDemand(url: string): { get: () => Promise<Redis>; close: () => void } {
  let connecting: Promise<Redis> | undefined;
  return {
    get: () => (connecting ??= connectRedis(url)),
    close: () => void connecting?.then((r) => r.disconnect()).catch(() => {}),
  };
}
