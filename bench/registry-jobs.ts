import { Queue } from 'bullmq';
import type { BridgeConfig } from '../src/config/index.js';
import { REGISTRY_QUEUE } from '../src/jobs/queue-names.js';
import { createRedisConnection, type RedisClient } from '../src/jobs/redis-connection.js';

/**
 * Reads how many jobs the registry queue holds, under the bridge's own prefix: the proof that each 200 the
 * intake answered left a job in Redis. No worker runs during the bench, so jobs only accumulate.
 */
export class RegistryJobs {
  private readonly redis: RedisClient;
  private readonly queue: Queue;

  constructor(config: BridgeConfig) {
    this.redis = createRedisConnection(config.redis, 'worker');
    this.queue = new Queue(REGISTRY_QUEUE, { connection: this.redis, prefix: config.redis.prefix });
  }

  /** Jobs in every state: a job is in exactly one, so the sum is the number of jobs. */
  async count(): Promise<number> {
    const counts = await this.queue.getJobCounts();
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  /** CPU time redis-server has used since it started (user plus system), from `INFO cpu`. */
  async redisCpuSeconds(): Promise<number> {
    const info = await this.redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
    return field('used_cpu_user') + field('used_cpu_sys');
  }

  async close(): Promise<void> {
    await this.queue.close();
    // BullMQ leaves a connection it was given open; it is ours to end.
    this.redis.disconnect();
  }
}
