import { accessSync, constants } from 'node:fs';
import type { ConfigProblem, ValueOrigin } from '../errors/config-error.js';
import { hashTagOf, parseRedisUrl, type RedisTopology } from './redis-url.js';
import type { WrittenConfig } from './schema.js';

/**
 * What the Redis keys say only together. In a Cluster every key of a Lua script or MULTI, and every key
 * of one BullMQ queue, must hash to one slot, or Redis answers CROSSSLOT (and ioredis refuses a pipeline
 * across slots); a `{tag}` in the prefix puts all the bridge's keys in one slot.
 */
export function redisProblems(c: WrittenConfig, origins: Map<string, ValueOrigin>): ConfigProblem[] {
  const origin = (key: string): ValueOrigin => origins.get(key) ?? { source: 'default' };
  let topology: RedisTopology;
  try {
    topology = parseRedisUrl(c.redis.url);
  } catch {
    return []; // already reported against redis.url by its format
  }
  const problems: ConfigProblem[] = [];
  if (topology.kind === 'cluster' && hashTagOf(c.redis.prefix) === undefined) {
    problems.push({
      key: 'redis.prefix',
      message:
        `redis.url is a Redis Cluster, so the prefix must be a hash tag such as {${c.redis.prefix.replace(/[{}]/g, '') || 'osb'}}: ` +
        "BullMQ's queue scripts and the bridge's registry and ledger scripts touch several keys at once: in a " +
        'Cluster those keys must share one slot',
      origin: origin('redis.prefix'),
      shown: JSON.stringify(c.redis.prefix),
    });
  }
  const ca = c.redis.tlsCaFile;
  if (ca !== '' && !topology.tls) {
    problems.push({
      key: 'redis.tlsCaFile',
      message:
        'a CA file is set but redis.url does not use TLS; use rediss://, rediss-sentinel:// or rediss-cluster://',
      origin: origin('redis.tlsCaFile'),
      shown: JSON.stringify(ca),
    });
  } else if (ca !== '') {
    try {
      accessSync(ca, constants.R_OK);
    } catch (err) {
      problems.push({
        key: 'redis.tlsCaFile',
        message: `cannot read the CA file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`,
        origin: origin('redis.tlsCaFile'),
        shown: JSON.stringify(ca),
      });
    }
  }
  return problems;
}
