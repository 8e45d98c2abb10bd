import { connectRedisOnce, type RedisClient, type RedisSettings } from '../jobs/redis-connection.js';

/** One connection made on first use, for commands that need Redis only on some paths. */
export function redisOnDemand(settings: RedisSettings): {
  get: () => Promise<RedisClient>;
  close: () => void;
} {
  let connecting: Promise<RedisClient> | undefined;
  return {
    get: () => (connecting ??= connectRedisOnce(settings)),
    close: () => void connecting?.then((r) => r.disconnect()).catch(() => {}),
  };
}
