import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../queues/redis-connection.js';
import type { PlannedCredit, SubscriptionUsageRecordJson } from '../metering/index.js';

/** What the bridge knows of one processed window of one subscription. */
export interface LedgerWindow {
  /** Window end (ISO); the hash field is the start. */
  end: string;
  /** CloudKitty's rates per unit as last seen (decimal text): later windows of the period round on top of them. */
  rates: Record<string, string>;
  /**
   * Cents recorded in Kill Bill per unit, all revisions summed, credited cents included as negative ones: the
   * plan compares this running total with CloudKitty's, so a credit counts as the negative usage it replaced.
   */
  cents: Record<string, number>;
  /** Highest revision recorded; null when nothing was ever recorded for it (a zero window). */
  lastRevision: number | null;
  /**
   * A record sent (or about to be) but not yet confirmed. After a crash it is sent again exactly as it was,
   * with the same tracking id, so Kill Bill either takes it or answers "already recorded": never twice.
   */
  pending?: PendingWindow;
  /** Credits given instead of negative usage (their cents are in `cents` too): for reconcile, never resent. */
  credits?: GivenCredit[];
}

/**
 * What one revision of a window sends. `cents` is the whole Δ per unit, credited units included (negative);
 * `record` carries the units posted as usage (null when every unit is credited); `credits` the rest. A credit
 * has no idempotency key in Kill Bill, so a pending one is looked for on the account (by its description)
 * before it is given again.
 */
export interface PendingWindow {
  revision: number;
  cents: Record<string, number>;
  record: SubscriptionUsageRecordJson | null;
  credits?: PlannedCredit[];
}

export interface GivenCredit {
  revision: number;
  unitType: string;
  cents: number;
  description: string;
  invoiceItemId: string;
}

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/** A held subscription lock: kept alive while the sync runs, gone by itself if the process dies. */
export interface SubscriptionLock {
  /** False when the lock was no longer ours (it expired and another run may have taken it). */
  extend(): Promise<boolean>;
  release(): Promise<void>;
}

/** Per-subscription usage ledger and watermarks in Redis. */
export class UsageLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private windowsKey(tenant: string, sub: string) {
    return `${this.prefix}:ledger:${tenant}:${sub}`;
  }
  private watermarkKey(tenant: string) {
    return `${this.prefix}:watermark:${tenant}`;
  }

  async windows(tenant: string, sub: string): Promise<Map<string, LedgerWindow>> {
    const raw = await this.redis.hgetall(this.windowsKey(tenant, sub));
    return new Map(Object.entries(raw).map(([start, json]) => [start, JSON.parse(json) as LedgerWindow]));
  }

  async saveWindows(tenant: string, sub: string, windows: Map<string, LedgerWindow>): Promise<void> {
    if (windows.size === 0) return;
    const args = [...windows].flatMap(([start, w]) => [start, JSON.stringify(w)]);
    await this.redis.hset(this.windowsKey(tenant, sub), ...args);
  }

  /** End (ISO) of the last closed window processed for the subscription, if any. */
  async watermark(tenant: string, sub: string): Promise<string | null> {
    return this.redis.hget(this.watermarkKey(tenant), sub);
  }

  async watermarks(tenant: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.watermarkKey(tenant));
  }

  /** Moves the watermark forward only: a late, slower run must not move it back. */
  async advanceWatermark(tenant: string, sub: string, to: string): Promise<void> {
    const current = await this.watermark(tenant, sub);
    if (current === null || current < to) await this.redis.hset(this.watermarkKey(tenant), sub, to);
  }

  /** Differences found outside the late-usage horizon: reported here, never recorded. */
  async reportLateDifference(
    tenant: string,
    sub: string,
    periodStart: string,
    cents: Record<string, number>,
  ) {
    await this.redis.hset(`${this.prefix}:late:${tenant}`, `${sub}:${periodStart}`, JSON.stringify(cents));
  }

  async lateDifferences(tenant: string): Promise<Record<string, Record<string, number>>> {
    const raw = await this.redis.hgetall(`${this.prefix}:late:${tenant}`);
    return Object.fromEntries(
      Object.entries(raw).map(([k, v]) => [k, JSON.parse(v) as Record<string, number>]),
    );
  }

  /**
   * One sync of a subscription at a time, across every worker process: the plan reads the ledger, so two
   * at once could both plan the same correction. A short TTL, renewed while the sync runs, lets a run after
   * a crash go ahead soon after the crashed process stopped renewing; so a caller waits up to `waitMs`
   * (about one TTL) rather than give up on a lock a dead run left. Null when it is still held then.
   */
  async lock(tenant: string, sub: string, ttlMs: number, waitMs = 0): Promise<SubscriptionLock | null> {
    const key = this.lockKey(tenant, sub);
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    for (;;) {
      if ((await this.redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') break;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // The holder's remaining TTL bounds the wait for a dead one; a live one releases sooner.
      const ttl = await this.redis.pttl(key);
      await new Promise((r) => setTimeout(r, Math.max(20, Math.min(left, ttl > 0 ? ttl : 20, 250))));
    }
    return {
      extend: async () => (await this.redis.eval(EXTEND_LOCK, 1, key, token, String(ttlMs))) === 1,
      release: async () => {
        await this.redis.eval(RELEASE_LOCK, 1, key, token);
      },
    };
  }

  lockKey(tenant: string, sub: string): string {
    return `${this.prefix}:lock:${tenant}:${sub}`;
  }
}
