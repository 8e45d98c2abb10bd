import type { Redis } from 'ioredis';
import { RedisScripts, type ScriptRedis } from '../jobs/redis-scripts.js';

/** The commands used; a Cluster connection has them too. */
type FreshnessRedis = ScriptRedis & Pick<Redis, 'mget'>;

/** Moves the last-success time forward only: a slow process finishing late must not move it back. */
const SET_LATER = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`;

/** A tick's due subscriptions replace the last tick's; none due means the tenant is up to date now. */
const MARK_DUE = `
redis.call('DEL', KEYS[1])
if #ARGV > 1 then
  for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
  return 0
end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[2], ARGV[1]) end
return 1`;

/** The last due subscription done makes the tenant up to date. */
const MARK_DONE = `
redis.call('SREM', KEYS[1], ARGV[2])
if redis.call('SCARD', KEYS[1]) > 0 then return 0 end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[2], ARGV[1]) end
return 1`;

/**
 * When each tenant was last fully synced, kept in Redis so every process (API, any worker) reports the
 * same age. A tenant counts as synced when a run left none of its due subscriptions failed: at the end of
 * an in-process run, or, with the workers, when the last subscription job a tick made for it succeeds.
 */
export class SyncFreshness {
  private readonly scripts: RedisScripts;

  constructor(
    private readonly redis: FreshnessRedis,
    private readonly prefix: string,
  ) {
    this.scripts = new RedisScripts(redis);
  }

  lastSuccessKey(tenant: string): string {
    return `${this.prefix}:sync:last-success:${tenant}`;
  }

  private dueKey(tenant: string): string {
    return `${this.prefix}:sync:due:${tenant}`;
  }

  async succeeded(tenant: string, at: Date = new Date()): Promise<void> {
    await this.scripts.run(SET_LATER, [this.lastSuccessKey(tenant)], [String(at.getTime())]);
  }

  /** A worker tick found these subscriptions of the tenant due (and queued a job for each). */
  async due(tenant: string, subscriptionIds: readonly string[], at: Date = new Date()): Promise<void> {
    const keys = [this.dueKey(tenant), this.lastSuccessKey(tenant)];
    await this.scripts.run(MARK_DUE, keys, [String(at.getTime()), ...subscriptionIds]);
  }

  /** A subscription job succeeded (or found the subscription no longer metered). */
  async done(tenant: string, subscriptionId: string, at: Date = new Date()): Promise<void> {
    const keys = [this.dueKey(tenant), this.lastSuccessKey(tenant)];
    await this.scripts.run(MARK_DONE, keys, [String(at.getTime()), subscriptionId]);
  }

  /** The last success of each tenant that ever had one. */
  async lastSuccess(tenants: readonly string[]): Promise<Map<string, Date>> {
    if (tenants.length === 0) return new Map();
    const values = await this.redis.mget(...tenants.map((t) => this.lastSuccessKey(t)));
    const out = new Map<string, Date>();
    tenants.forEach((t, i) => {
      const ms = Number(values[i]);
      if (values[i] && Number.isFinite(ms)) out.set(t, new Date(ms));
    });
    return out;
  }
}
