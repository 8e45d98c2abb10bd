import type { RedisClient } from '../jobs/redis-connection.js';
import { RedisScripts } from '../jobs/redis-scripts.js';
import type { AccountResolution } from './account-resolution.js';
import { markConflicts } from './conflicts.js';
import type { RegistryProblem, SubscriptionEntry } from './metered-subscription.js';
import { SharedValues } from './shared-values.js';

export interface AccountRecord {
  accountId: string;
  subscriptionIds: string[];
  problems: RegistryProblem[];
  /** Redis time (ms) at which the Kill Bill state behind this record started to be read. */
  readAt: number;
}

// Replaces an account's subscriptions in one step, unless a newer reading of the account is already
// stored: two workers may refresh the same account at once, and the older reading must not win.
const REPLACE_ACCOUNT = `
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local rec = cjson.decode(old)
  if tonumber(rec.readAt) > tonumber(ARGV[3]) then return 0 end
  for _, sid in ipairs(rec.subscriptionIds) do redis.call('HDEL', KEYS[1], sid) end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('HINCRBY', KEYS[4], 'writes', 1)
return 1
`;

/** Scans of a tenant's entries disturbed by writes before they are read in one reply instead. */
const SCANS = 3;

/** The registry of metered subscriptions, per tenant, in Redis. */
export class RegistryStore {
  private readonly scripts: RedisScripts;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.scripts = new RedisScripts(redis);
  }

  private keys(tenant: string) {
    const base = `${this.prefix}:registry:${tenant}`;
    return {
      subs: `${base}:subs`,
      accounts: `${base}:accounts`,
      tenants: `${this.prefix}:registry:tenants`,
      meta: `${base}:meta`,
    };
  }

  /** Redis's clock, shared by every worker process, in ms. */
  async now(): Promise<number> {
    const [s, us] = await this.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  /** Stores what was resolved for an account; false when a newer reading was already stored. */
  async replaceAccount(tenant: string, accountId: string, resolution: AccountResolution, readAt: number) {
    const k = this.keys(tenant);
    const record: AccountRecord = {
      accountId,
      subscriptionIds: resolution.entries.map((e) => e.subscriptionId),
      problems: resolution.problems,
      readAt,
    };
    const pairs = resolution.entries.flatMap((e) => [e.subscriptionId, JSON.stringify(e)]);
    const keys = [k.subs, k.accounts, k.tenants, k.meta];
    const args = [accountId, JSON.stringify(record), String(readAt), tenant, ...pairs];
    const stored = await this.scripts.run(REPLACE_ACCOUNT, keys, args);
    return stored === 1;
  }

  async account(tenant: string, accountId: string): Promise<AccountRecord | null> {
    const raw = await this.redis.hget(this.keys(tenant).accounts, accountId);
    return raw ? (JSON.parse(raw) as AccountRecord) : null;
  }

  /**
   * Every account record of the tenant, a page at a time ({@link scanValues}); each once. Not one instant's:
   * for counting and listing, where an account rewritten meanwhile may be seen either way.
   */
  async *accountRecords(tenant: string): AsyncGenerator<AccountRecord[]> {
    const seen = new Set<string>();
    for await (const page of this.scanValues(this.keys(tenant).accounts)) {
      const records = page.map((raw) => JSON.parse(raw) as AccountRecord);
      yield records.filter((r) => !seen.has(r.accountId) && seen.add(r.accountId));
    }
  }

  /**
   * A hash's values, a page at a time: HSCAN, so that no one reply (nor a round trip per field) carries 100,000
   * of them, and a page's text is dropped once its caller has parsed it. HSCAN may name a field twice (Redis
   * rehashing the hash meanwhile); callers keep the first.
   */
  private async *scanValues(key: string): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      yield flat.filter((_, i) => i % 2 === 1);
    } while (cursor !== '0');
  }

  async accountCount(tenant: string): Promise<number> {
    return this.redis.hlen(this.keys(tenant).accounts);
  }

  async accountIds(tenant: string): Promise<string[]> {
    return this.redis.hkeys(this.keys(tenant).accounts);
  }

  /**
   * Every subscription of the tenant, with conflicts between accounts marked: as at one instant, as conflicts
   * are judged between accounts. Read in {@link scanValues} pages, again when an account was replaced during
   * the scan (the registry counts its writes), and in one HVALS reply after {@link SCANS} scans so disturbed.
   */
  async entries(tenant: string): Promise<SubscriptionEntry[]> {
    const k = this.keys(tenant);
    let entries: SubscriptionEntry[] | undefined;
    for (let scan = 1; !entries && scan <= SCANS; scan++) {
      const before = await this.redis.hget(k.meta, 'writes');
      const read = await this.scannedEntries(k.subs);
      if ((await this.redis.hget(k.meta, 'writes')) === before) entries = read;
    }
    if (!entries) {
      const shared = new SharedValues();
      entries = (await this.redis.hvals(k.subs)).map((raw) =>
        shared.entry(JSON.parse(raw) as SubscriptionEntry),
      );
    }
    entries.sort(
      (a, b) => a.accountId.localeCompare(b.accountId) || a.subscriptionId.localeCompare(b.subscriptionId),
    );
    return markConflicts(entries);
  }

  private async scannedEntries(key: string): Promise<SubscriptionEntry[]> {
    const entries = new Map<string, SubscriptionEntry>();
    const shared = new SharedValues();
    for await (const page of this.scanValues(key))
      for (const raw of page) {
        const e = JSON.parse(raw) as SubscriptionEntry;
        if (!entries.has(e.subscriptionId)) entries.set(e.subscriptionId, shared.entry(e));
      }
    return [...entries.values()];
  }

  async tenants(): Promise<string[]> {
    return this.redis.smembers(this.keys('').tenants);
  }

  async entry(tenant: string, subscriptionId: string): Promise<SubscriptionEntry | undefined> {
    return (await this.entries(tenant)).find((e) => e.subscriptionId === subscriptionId);
  }

  async markReconciled(tenant: string, at: number, accounts: number): Promise<void> {
    await this.redis.hset(this.keys(tenant).meta, 'reconciledAt', String(at), 'accounts', String(accounts));
  }

  async lastReconcile(tenant: string): Promise<{ at: number; accounts: number } | null> {
    const m = await this.redis.hgetall(this.keys(tenant).meta);
    return m.reconciledAt ? { at: Number(m.reconciledAt), accounts: Number(m.accounts) } : null;
  }
}
