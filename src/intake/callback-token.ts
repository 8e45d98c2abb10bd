import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../jobs/redis-connection.js';

export type TokenRedis = Pick<RedisClient, 'get' | 'set'>;

export interface CallbackTokensOptions {
  /** `server.callbackToken`; empty when the operator set none. */
  configured: string;
  /** `redis.prefix`. */
  prefix: string;
  /** Asked only when no token is configured, so commands that never need Redis for this never connect. */
  redis: () => Promise<TokenRedis>;
}

/** Where the bridge keeps a tenant's token when the configuration sets none. */
export function callbackTokenKey(prefix: string, tenantApiKey: string): string {
  return `${prefix}:callback-token:${tenantApiKey}`;
}

/** The token with all but its first characters hidden: enough to tell two apart, not to use one. */
export function tokenHint(token: string): string {
  return `${token.slice(0, 4)}…`;
}

/**
 * The secret each tenant's callback URL carries: the configured one for every tenant, else one per tenant
 * made by the bridge and kept in Redis, so every bridge process sharing that Redis expects the same.
 */
export class CallbackTokens {
  /** A tenant's token never changes once made, so it is read from Redis once per process. */
  private readonly known = new Map<string, string>();

  constructor(private readonly options: CallbackTokensOptions) {}

  get configured(): boolean {
    return this.options.configured !== '';
  }

  /** The token Kill Bill must present, or undefined when none was made yet. Never makes one. */
  async expected(tenantApiKey: string): Promise<string | undefined> {
    if (this.configured) return this.options.configured;
    const cached = this.known.get(tenantApiKey);
    if (cached) return cached;
    const redis = await this.options.redis();
    const stored = await redis.get(callbackTokenKey(this.options.prefix, tenantApiKey));
    if (stored) this.known.set(tenantApiKey, stored);
    return stored ?? undefined;
  }

  /** The token to register the callback with, made now if the tenant has none yet. */
  async forRegistration(tenantApiKey: string): Promise<string> {
    const existing = await this.expected(tenantApiKey);
    if (existing) return existing;
    const redis = await this.options.redis();
    const key = callbackTokenKey(this.options.prefix, tenantApiKey);
    // NX, then read back: of processes starting at once, the first write wins and all use that one.
    await redis.set(key, randomBytes(24).toString('hex'), 'NX');
    const stored = await redis.get(key);
    if (!stored) throw new Error(`the callback token of tenant ${tenantApiKey} vanished from Redis`);
    this.known.set(tenantApiKey, stored);
    return stored;
  }
}
