/**
 * CPU of planning one subscription's sync, by day of the month: 300 subscriptions × 2 units, a ledger of hourly
 * windows from the 1st recorded and confirmed, and one new window to plan. First planning alone (no Redis, no
 * Kill Bill): what `planSubscription` costs as the billing period fills up; then reading the ledger with the
 * lock from a real Redis, whole and as a continuing run reads it (`continuationStarts`), this process's CPU and
 * redis-server's per subscription (issue #15).
 *   npx tsx scripts/plan-cpu.ts
 */
import { parseWindowSize } from '../src/metering/index.js';
import type { LedgerWindow } from '../src/record/usage-ledger.js';
import type { MeteredEntry } from '../src/sync/metered-entry.js';
import type { RatedRow } from '../src/sync/rated-usage-pull.js';
import { planSubscription, type PlanSettings } from '../src/sync/subscription-plan.js';
import { continuationStarts } from '../src/sync/period-continuation.js';
import { UsageLedger } from '../src/record/usage-ledger.js';
import { meteredEntry } from '../test/support/metered-entry.js';
import { RedisServer } from '../test/support/redis-server.js';

const HOUR = 3_600_000;
const SUBSCRIPTIONS = 300;
const MONTH = Date.parse('2026-03-01T00:00:00Z');
const settings: PlanSettings = { windowSize: parseWindowSize('1h'), horizonPeriods: 2 };

function entry(i: number): MeteredEntry {
  return meteredEntry({
    accountId: `acc-${i}`,
    subscriptionId: `5f0f8a1e-1111-4222-8333-${i.toString(16).padStart(12, '0')}`,
    projectId: `p${i}`,
    units: { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' },
    since: new Date(MONTH).toISOString(),
  });
}

function rows(i: number, fromMs: number, hours: number): RatedRow[] {
  const out: RatedRow[] = [];
  for (let h = 0; h < hours; h++) {
    const beginMs = fromMs + h * HOUR;
    out.push({
      beginMs,
      type: 'instance',
      stack: null,
      rate: ((((h + i) * 37) % 90) / 10_000 + 0.0005).toFixed(8),
    });
    out.push({
      beginMs,
      type: 'vcpus',
      stack: null,
      rate: ((((h + i) * 13) % 40) / 10_000 + 0.0003).toFixed(8),
    });
  }
  return out;
}

/** The ledger after every window before `toMs` was planned, sent and confirmed. */
function ledgerThrough(e: MeteredEntry, i: number, toMs: number): Map<string, LedgerWindow> {
  const ledger = new Map<string, LedgerWindow>();
  const input = {
    entry: e,
    ledger,
    rows: rows(i, MONTH, (toMs - MONTH) / HOUR),
    from: new Date(MONTH),
    to: new Date(toMs),
  };
  for (const p of planSubscription({ ...input, now: new Date(toMs + HOUR) }, settings)) {
    for (const [start, w] of p.writes) {
      const { pending, ...rest } = w;
      if (!pending) ledger.set(start, rest);
      else {
        const cents = { ...rest.cents };
        for (const [u, c] of Object.entries(pending.cents)) cents[u] = (cents[u] ?? 0) + c;
        ledger.set(start, { ...rest, cents, lastRevision: pending.revision });
      }
    }
  }
  return ledger;
}

const redis = await RedisServer.start();
const client = redis.client();
const store = new UsageLedger(client, 'plan-cpu');

/** CPU (ms) of this process and of redis-server while `fn` runs. */
async function cpuOf(fn: () => Promise<void>): Promise<{ own: number; redis: number }> {
  const redisCpu = async () => {
    const info = await client.info('cpu');
    const field = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
    return (field('used_cpu_sys') + field('used_cpu_user')) * 1000;
  };
  const [before, redisBefore] = [process.cpuUsage(), await redisCpu()];
  await fn();
  const used = process.cpuUsage(before);
  return { own: (used.user + used.system) / 1000, redis: (await redisCpu()) - redisBefore };
}

try {
  for (const day of [2, 10, 20, 31]) {
    const fromMs = MONTH + ((day - 1) * 24 - 1) * HOUR;
    const subs = Array.from({ length: SUBSCRIPTIONS }, (_, i) => {
      const e = entry(i);
      return { e, ledger: ledgerThrough(e, i, fromMs), rows: rows(i, fromMs, 1) };
    });
    const now = new Date(fromMs + 2 * HOUR);
    const run = () => {
      let sends = 0;
      for (const s of subs) {
        const input = {
          entry: s.e,
          ledger: s.ledger,
          rows: s.rows,
          from: new Date(fromMs),
          to: new Date(fromMs + HOUR),
          now,
        };
        for (const p of planSubscription(input, settings)) sends += p.sends.length;
      }
      return sends;
    };
    run(); // warm up
    const before = process.cpuUsage();
    const rounds = 5;
    let sends = 0;
    for (let r = 0; r < rounds; r++) sends += run();
    const used = process.cpuUsage(before);
    const perSub = (used.user + used.system) / 1000 / (rounds * SUBSCRIPTIONS);
    console.log(
      `day ${String(day).padStart(2)}: ${subs[0]?.ledger.size ?? 0} windows in the ledger, ` +
        `${perSub.toFixed(3)} ms CPU per subscription to plan one new window (${sends / rounds} records)`,
    );
    await readLedgers(day, fromMs, subs);
  }
} finally {
  client.disconnect();
  await redis.close();
}

/** Each ledger in Redis, settled where the next run starts, then read with the lock whole and lean. */
async function readLedgers(
  day: number,
  fromMs: number,
  subs: Array<{ e: MeteredEntry; ledger: Map<string, LedgerWindow> }>,
) {
  const tenant = `day${day}`;
  const from = new Date(fromMs).toISOString();
  for (const s of subs) {
    const held = (await store.lockAndRead(tenant, s.e.subscriptionId, 60_000))!;
    await held.lock.save(s.ledger);
    await held.lock.commit(new Map(), { watermark: from, release: true });
  }
  const target = (s: { e: MeteredEntry }) => ({
    entry: s.e,
    from: new Date(fromMs),
    to: new Date(fromMs + HOUR),
  });
  for (const lean of [false, true]) {
    let read = 0;
    const cpu = await cpuOf(async () => {
      for (const s of subs) {
        const starts = lean ? continuationStarts(target(s), settings) : null;
        const held = (await store.lockAndRead(
          tenant,
          s.e.subscriptionId,
          60_000,
          0,
          starts ? { from, starts } : undefined,
        ))!;
        read += held.windows.size;
        await held.lock.release();
      }
    });
    console.log(
      `        ledger read with the lock, ${lean ? 'as a continuing run' : 'whole'}: ` +
        `${(read / SUBSCRIPTIONS).toFixed(0)} windows, ${(cpu.own / SUBSCRIPTIONS).toFixed(3)} ms CPU here + ` +
        `${(cpu.redis / SUBSCRIPTIONS).toFixed(3)} ms in redis-server per subscription (lock release included)`,
    );
  }
}
