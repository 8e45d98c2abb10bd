import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../jobs/redis-connection.js';
import type { PlannedCredit, RoundingState, SubscriptionUsageRecordJson } from '../metering/index.js';
import { LedgerBatch } from './ledger-batch.js';

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
  /**
   * Where the billing period's cumulative rounding stands after this window, once its plan is recorded: kept
   * on the last window the period's latest plan wrote (one per period), so the next sync continues from it
   * instead of re-planning the period. Absent from ledgers written before it existed: the sync then plans the
   * period whole and writes it.
   */
  rounding?: LedgerRounding;
}

/** A period's rounding state as the ledger keeps it: from `since` (ISO), the period's first billed instant. */
export interface LedgerRounding extends RoundingState {
  since: string;
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
// KEYS: lock, windows, watermarks, settled. ARGV: token, subscription, watermark ('' = leave), release ('1'),
// then start/json pairs. Nothing is written unless the lock is still this run's. A release with a watermark
// ends a run that confirmed everything it wrote: the ledger is then settled at that watermark (nothing
// pending, no window from it on), which lets the next run read only the windows it needs.
const COMMIT = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if #ARGV > 4 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 5))
  redis.call('HDEL', KEYS[4], ARGV[2])
end
if ARGV[3] ~= '' then
  local current = redis.call('HGET', KEYS[3], ARGV[2])
  if not current or current < ARGV[3] then redis.call('HSET', KEYS[3], ARGV[2], ARGV[3]) end
end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
  if ARGV[3] ~= '' and redis.call('HGET', KEYS[3], ARGV[2]) == ARGV[3] then
    redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
  else
    redis.call('HDEL', KEYS[4], ARGV[2])
  end
end
return 1`;
// KEYS: lock, settled, windows. ARGV: token, subscription, then start/json pairs. Nothing is written unless the
// lock is still this run's; written windows unsettle the ledger until a run ends. In slices: Lua's unpack stops
// near 8,000 values, and a month of 5-minute windows is 17,000.
const SAVE_WINDOWS = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
for i = 3, #ARGV, 1000 do
  redis.call('HSET', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1`;
// KEYS: lock, windows, settled. ARGV: token, ttl, subscription, from, then the window starts to read when the
// ledger is settled at `from`. Returns false (busy), {1, json|false…} (those windows) or {0, start, json…} (all).
const LOCK_AND_READ = `if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return false end
if #ARGV > 4 and redis.call('HGET', KEYS[3], ARGV[3]) == ARGV[4] then
  local found = redis.call('HMGET', KEYS[2], unpack(ARGV, 5))
  table.insert(found, 1, 1)
  return found
end
local all = redis.call('HGETALL', KEYS[2])
table.insert(all, 1, 0)
return all`;

/** A held subscription lock: kept alive while the sync runs, gone by itself if the process dies. */
export interface SubscriptionLock {
  /** False when the lock was no longer ours (it expired and another run may have taken it). */
  extend(): Promise<boolean>;
  /**
   * Writes planned windows (revisions pending among them), only while the lock is still this run's: the ledger
   * is no longer settled until a run ends. False (nothing written) when the lock was lost. With `linger`, the
   * call may wait for others to share its write ({@link LedgerBatch}).
   */
  save(windows: ReadonlyMap<string, LedgerWindow>, linger?: boolean): Promise<boolean>;
  /**
   * Writes windows Kill Bill confirmed and, when given, moves the watermark forward, in one call and only
   * while the lock is still this run's; with `release` it also gives the lock up. False (nothing written)
   * when the lock was lost: the windows stay pending, and the next run's resend is "already recorded".
   */
  commit(windows: ReadonlyMap<string, LedgerWindow>, options?: CommitOptions): Promise<boolean>;
  release(): Promise<void>;
}

export interface CommitOptions {
  watermark?: string;
  release?: boolean;
  /**
   * May wait a little for other runs' calls to share its write to Redis ({@link LedgerBatch}): for a run whose
   * Kill Bill calls are bounded elsewhere, so waiting holds up nothing but its own end.
   */
  linger?: boolean;
}

/** A lock taken together with the ledger it guards, read in the same round trip. */
export interface LockedLedger {
  lock: SubscriptionLock;
  windows: Map<string, LedgerWindow>;
  /** False when only the windows asked for in a {@link LeanRead} were read. */
  whole: boolean;
}

/** The few windows a run needs when the ledger is settled where the run starts. */
export interface LeanRead {
  /** The run's first window start (ISO): the watermark the ledger must be settled at. */
  from: string;
  /** The window starts (ISO) to read. */
  starts: readonly string[];
}

/** Per-subscription usage ledger and watermarks in Redis. */
export class UsageLedger {
  /** Where the per-subscription scripts (lock and read, save, commit) go: shared by runs side by side. */
  readonly batch: LedgerBatch;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    batch?: LedgerBatch,
  ) {
    this.batch = batch ?? new LedgerBatch(redis);
  }

  private windowsKey(tenant: string, sub: string) {
    return `${this.prefix}:ledger:${tenant}:${sub}`;
  }
  private watermarkKey(tenant: string) {
    return `${this.prefix}:watermark:${tenant}`;
  }
  /** Per subscription, the watermark at which its ledger was left settled by a run that ended there. */
  private settledKey(tenant: string) {
    return `${this.prefix}:settled:${tenant}`;
  }

  async windows(tenant: string, sub: string): Promise<Map<string, LedgerWindow>> {
    return parse(await this.redis.hgetall(this.windowsKey(tenant, sub)));
  }

  /** End (ISO) of the last closed window processed for the subscription, if any. */
  async watermark(tenant: string, sub: string): Promise<string | null> {
    return this.redis.hget(this.watermarkKey(tenant), sub);
  }

  async watermarks(tenant: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.watermarkKey(tenant));
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
    return (await this.lockAndRead(tenant, sub, ttlMs, waitMs))?.lock ?? null;
  }

  /**
   * {@link lock}, and the subscription's ledger read in the same call once the lock is taken. With `lean`,
   * only the windows starting at `lean.starts` are read when the ledger is settled at `lean.from` (the last run
   * confirmed everything it wrote and ended there); otherwise, and without `lean`, the whole ledger. With
   * `linger`, the call may wait for others to share its write ({@link LedgerBatch}).
   */
  async lockAndRead(
    tenant: string,
    sub: string,
    ttlMs: number,
    waitMs = 0,
    lean?: LeanRead,
    linger = false,
  ): Promise<LockedLedger | null> {
    const key = this.lockKey(tenant, sub);
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    const keys = [key, this.windowsKey(tenant, sub), this.settledKey(tenant)];
    const args = [token, String(ttlMs), sub, lean?.from ?? '', ...(lean?.starts ?? [])];
    for (;;) {
      const reply = (await this.batch.eval(LOCK_AND_READ, keys, args, linger)) as Array<
        number | string | null
      > | null;
      if (reply) {
        const [mode, ...values] = reply;
        const lock = this.heldLock(tenant, sub, token, ttlMs);
        if (mode === 1 && lean) return { lock, windows: parseSome(lean.starts, values), whole: false };
        return { lock, windows: parse(pairsOf(values)), whole: true };
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // The holder's remaining TTL bounds the wait for a dead one; a live one releases sooner.
      const ttl = await this.redis.pttl(key);
      await new Promise((r) => setTimeout(r, Math.max(20, Math.min(left, ttl > 0 ? ttl : 20, 250))));
    }
  }

  private heldLock(tenant: string, sub: string, token: string, ttlMs: number): SubscriptionLock {
    const key = this.lockKey(tenant, sub);
    return {
      extend: async () => (await this.batch.scripts.run(EXTEND_LOCK, [key], [token, String(ttlMs)])) === 1,
      save: async (windows, linger = false) => {
        if (windows.size === 0) return true;
        const pairs = [...windows].flatMap(([start, w]) => [start, JSON.stringify(w)]);
        const keys = [key, this.settledKey(tenant), this.windowsKey(tenant, sub)];
        return (await this.batch.eval(SAVE_WINDOWS, keys, [token, sub, ...pairs], linger)) === 1;
      },
      commit: async (windows, options = {}) => {
        const pairs = [...windows].flatMap(([start, w]) => [start, JSON.stringify(w)]);
        const keys = [key, this.windowsKey(tenant, sub), this.watermarkKey(tenant), this.settledKey(tenant)];
        const args = [token, sub, options.watermark ?? '', options.release ? '1' : '0', ...pairs];
        return (await this.batch.eval(COMMIT, keys, args, options.linger)) === 1;
      },
      release: async () => {
        await this.batch.scripts.run(RELEASE_LOCK, [key], [token]);
      },
    };
  }

  lockKey(tenant: string, sub: string): string {
    return `${this.prefix}:lock:${tenant}:${sub}`;
  }
}

function pairsOf(values: ReadonlyArray<number | string | null>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < values.length; i += 2) fields[String(values[i])] = String(values[i + 1]);
  return fields;
}

function parseSome(
  starts: readonly string[],
  values: ReadonlyArray<number | string | null>,
): Map<string, LedgerWindow> {
  const found = new Map<string, LedgerWindow>();
  starts.forEach((start, i) => {
    const json = values[i];
    if (typeof json === 'string') found.set(start, JSON.parse(json) as LedgerWindow);
  });
  return found;
}

function parse(raw: unknown): Map<string, LedgerWindow> {
  const fields = (raw ?? {}) as Record<string, string>;
  return new Map(Object.entries(fields).map(([start, json]) => [start, JSON.parse(json) as LedgerWindow]));
}
