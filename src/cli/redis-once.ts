import type { Redis } from 'ioredis';
import { connectRedisOnce } from '../queues/redis-connection.js';

/** One connection made on first use, for commands that need Redis only on some paths. */
export function redisOnDemand(url: string): { get: () => Promise<Redis>; close: () => void } {
  let connecting: Promise<Redis> | undefined;
  return {
    get: () => (connecting ??= connectRedisOnce(url)),
    close: () => void connecting?.then((r) => r.disconnect()).catch(() => {}),
  };
}
