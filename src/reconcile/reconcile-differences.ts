import type { Redis } from 'ioredis';
import type { Cents } from '../metering/index.js';

/** The commands used; a Cluster connection has them too. */
type DifferencesRedis = Pick<Redis, 'hset' | 'hmget'>;

/**
 * Each tenant's difference as the last whole-tenant `bridge reconcile` found it, in cents, kept in Redis:
 * reconcile is a one-shot command, so the processes that serve `/metrics` (API, workers) read it here.
 */
export class ReconcileDifferences {
  constructor(
    private readonly redis: DifferencesRedis,
    private readonly prefix: string,
  ) {}

  get key(): string {
    return `${this.prefix}:reconcile:difference`;
  }

  async save(byTenant: Readonly<Record<string, Cents>>): Promise<void> {
    const pairs = Object.entries(byTenant).flatMap(([tenant, cents]) => [tenant, String(cents)]);
    if (pairs.length > 0) await this.redis.hset(this.key, ...pairs);
  }

  /** The tenants reconciled so far; one never reconciled has no value (and so no sample). */
  async read(tenants: readonly string[]): Promise<Map<string, Cents>> {
    if (tenants.length === 0) return new Map();
    const values = await this.redis.hmget(this.key, ...tenants);
    const found = new Map<string, Cents>();
    tenants.forEach((t, i) => {
      if (values[i] !== null && values[i] !== undefined) found.set(t, Number(values[i]));
    });
    return found;
  }
}
