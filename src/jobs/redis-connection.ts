import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import { parseRedisUrl } from '../config/redis-url.js';
import { shownUrl } from '../config/masking.js';
import { networkReason, UnreachableError } from '../errors/index.js';
import { clusterOptions, redisOptions, type RedisBehaviour, type RedisSettings } from './redis-options.js';
import { releaseFailoverDetectorOnClose } from './sentinel-detector.js';

export type { RedisSettings } from './redis-options.js';

/**
 * ioredis is CommonJS: imported from an ES module, Node first scans it and the modules it re-exports for named
 * exports, about 0.08 s of CPU at the start of every command that uses Redis; `require` skips that. Same classes.
 */
const { Cluster, Redis } = createRequire(import.meta.url)('ioredis') as typeof IORedis;
type Cluster = IORedis.Cluster;
type Redis = IORedis.Redis;

/** One Redis, a master found through Sentinels (both `Redis`), or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export type RedisRole = 'producer' | 'worker';

const settingsOf = (target: string | RedisSettings): RedisSettings =>
  typeof target === 'string' ? { url: target } : target;

function connect(target: string | RedisSettings, behaviour: RedisBehaviour): RedisClient {
  const settings = settingsOf(target);
  const topology = settings.topology ?? parseRedisUrl(settings.url);
  if (topology.kind === 'cluster') {
    return new Cluster(topology.nodes, clusterOptions(topology, settings, behaviour));
  }
  const options = redisOptions(topology, settings, behaviour);
  if (topology.kind === 'single') return new Redis(topology.url, options);
  const redis = new Redis(options);
  if (options.failoverDetector) releaseFailoverDetectorOnClose(redis);
  return redis;
}

/**
 * A Redis connection for BullMQ and the bridge's own keys, for any topology `redis.url` names. A
 * producer fails a command at once while Redis is unreachable, so the intake can answer 503 and Kill Bill
 * retries; a worker waits and reconnects, as BullMQ requires.
 */
export function createRedisConnection(target: string | RedisSettings, role: RedisRole): RedisClient {
  const redis = connect(target, role);
  // ioredis reports every failed reconnect as an 'error' event; the owner decides what to log.
  redis.on('error', () => {});
  return redis;
}

/**
 * Connects once, for a command a person waits on: no retrying forever as the services do. Throws
 * {@link UnreachableError} ("Redis at URL is unreachable (why)") when Redis does not answer.
 */
export async function connectRedisOnce(target: string | RedisSettings): Promise<RedisClient> {
  const settings = settingsOf(target);
  const redis = connect(settings, 'once');
  // ioredis rejects with "Connection is closed"; the socket error it emitted first says why.
  let cause: Error | undefined;
  redis.on('error', (err: Error) => (cause ??= err));
  redis.on('node error', (err: Error) => (cause ??= err));
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw new UnreachableError('redis', shownUrl(settings.url), networkReason(cause ?? err));
  }
}
