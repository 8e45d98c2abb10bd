import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisTopology } from '../config/redis-url.js';

/** `redis.url` and `redis.tlsCaFile`, or a bare URL (no CA file). */
export interface RedisSettings {
  url: string;
  /** `url` as the configuration read it at load; read here when missing (a bare URL). */
  topology?: RedisTopology;
  tlsCaFile?: string;
}

/** How a connection behaves while Redis is away: fail at once, wait and retry, or give up (commands). */
export type RedisBehaviour = 'producer' | 'worker' | 'once';

const backoff = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5_000);
// The intake answers Kill Bill 503 while Redis is away, and Kill Bill retries a notification only a few times
// (by default 6 over about 39 hours; 1 s, 2 s, 4 s on a test server): it must be taking jobs again within a
// second of Redis being back, not after a backoff grown to 5 s.
const producerBackoff = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 1_000);

function retryStrategyOf(behaviour: RedisBehaviour) {
  if (behaviour === 'once') return () => null;
  return behaviour === 'producer' ? producerBackoff : backoff;
}

// A failover turns the old master into a replica: a write that still reaches it is refused with
// READONLY. Reconnecting (through the Sentinels, to the new master) and resending the command is right.
const reconnectOnReadOnly = (err: Error): 2 | false => (err.message.startsWith('READONLY') ? 2 : false);

/** Options of one connection, by behaviour; `retryStrategy` is left out (Cluster sets it elsewhere). */
function behaviourOptions(behaviour: RedisBehaviour): RedisOptions {
  switch (behaviour) {
    case 'producer':
      return { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 };
    case 'worker':
      // BullMQ requires maxRetriesPerRequest null: its blocking commands must wait, not fail.
      return { maxRetriesPerRequest: null, enableReadyCheck: true };
    case 'once':
      return { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 1, enableOfflineQueue: false };
  }
}

function tlsOf(topology: RedisTopology, settings: RedisSettings): ConnectionOptions | undefined {
  if (!topology.tls) return undefined;
  return settings.tlsCaFile ? { ca: readFileSync(settings.tlsCaFile) } : {};
}

/** ioredis options for one Redis, or a master found through Sentinels. */
export function redisOptions(
  topology: Exclude<RedisTopology, { kind: 'cluster' }>,
  settings: RedisSettings,
  behaviour: RedisBehaviour,
): RedisOptions {
  const retryStrategy = retryStrategyOf(behaviour);
  const tls = tlsOf(topology, settings);
  const options: RedisOptions = { ...behaviourOptions(behaviour), retryStrategy, tls };
  if (topology.kind === 'single') return options;
  return {
    ...options,
    sentinels: topology.sentinels,
    name: topology.masterName,
    role: 'master',
    db: topology.db,
    username: topology.username,
    password: topology.password,
    sentinelPassword: topology.sentinelPassword,
    sentinelTLS: tls,
    enableTLSForSentinelMode: topology.tls,
    sentinelRetryStrategy: retryStrategy,
    sentinelCommandTimeout: topology.sentinelTimeoutMs,
    // Listens for +switch-master, so a failover is followed at once rather than at the next error.
    failoverDetector: behaviour !== 'once',
    reconnectOnError: reconnectOnReadOnly,
  };
}

/** ioredis Cluster options: the behaviour goes to each node's connection, the retries to the Cluster. */
export function clusterOptions(
  topology: Extract<RedisTopology, { kind: 'cluster' }>,
  settings: RedisSettings,
  behaviour: RedisBehaviour,
): ClusterOptions {
  const node = behaviourOptions(behaviour);
  const { enableOfflineQueue, lazyConnect, ...perNode } = node;
  return {
    lazyConnect,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
    clusterRetryStrategy: retryStrategyOf(behaviour),
    redisOptions: {
      ...perNode,
      username: topology.username,
      password: topology.password,
      tls: tlsOf(topology, settings),
      reconnectOnError: reconnectOnReadOnly,
    },
  };
}
