import { Decimal } from 'decimal.js';
import { seedRatedUsage, seededCloudKittyEnv, startCloudKitty } from '../test/support/cloudkitty.js';
import { FaultProxy } from '../test/support/fault-proxy.js';
import { HOUR } from '../test/support/metered-tenant.js';
import type { RatedUsage } from '../test/support/rated-usage-dataframes.js';
import { RedisServer } from '../test/support/redis-server.js';
import { stopSharedServers } from '../test/support/root-hooks.js';
import { projectIdOf, recordedIndex } from './recorded-answers.js';
import { RecordedKillBill } from './recorded-killbill.js';
import { buildBridge, measuredBridge, pullMs, unpagedSummary, type Measured } from './sync.js';
import { threadCpuLine } from './thread-cpu.js';

/**
 * `bridge registry sync` and `bridge sync` (a catch-up of two hours, then one steady hour) of N metered
 * subscriptions × 2 units, against the real CloudKitty and a real Redis, with Kill Bill a server of answers
 * recorded from the real one (bench/recorded-killbill.ts): the real Kill Bill here makes about 8 accounts a
 * second, so 100,000 would take hours to set up. The figure this is for is the bridge's peak RSS at 100,000.
 * `BENCH_SCALE_SUBSCRIPTIONS=100000 npx tsx bench/sync-at-scale.ts`
 */
const N = Number(process.env.BENCH_SCALE_SUBSCRIPTIONS ?? 2000);
/** BENCH_SCALE_KILLBILL_DELAY_MS: each usage record answered that late (recorded-killbill.ts says why). */
const USAGE_DELAY_MS = Number(process.env.BENCH_SCALE_KILLBILL_DELAY_MS ?? 0);
const METRICS = ['instance', 'vcpus'] as const;
const unitOf = (metric: string) => `openstack-billed-${metric}`;
const CREDENTIALS = {
  username: 'admin',
  password: 'password',
  apiKey: 'bench-scale',
  apiSecret: 'bench-scale-secret',
};

/**
 * What CloudKitty rated project `i`'s `metric` in the sync's hour `h` (0, 1: the catch-up; 2: the steady
 * hour): the first off the cent, the others whole cents, so the total is exact however the bridge splits it.
 */
function price(i: number, m: number, h: number): Decimal {
  if (h === 0) return new Decimal(((i * 7 + m * 13) % 389) + 1).div(1000);
  return new Decimal(((i + m + h) % 9) + 1).div(100);
}

/** The cents a subscription-unit must end with: its hours summed, then rounded half up once. */
const expectedCents = (i: number, m: number): number =>
  [0, 1, 2]
    .reduce((sum, h) => sum.plus(price(i, m, h)), new Decimal(0))
    .times(100)
    .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
    .toNumber();

/** One hour of every project, seeded in one go: a whole range at 100,000 projects is a lot to hold. */
async function seedHour(url: string, begin: Date, h: number): Promise<void> {
  const usage: RatedUsage[] = [];
  for (let i = 0; i < N; i++)
    METRICS.forEach((metric, m) =>
      usage.push({ begin, projectId: projectIdOf(i), metric, price: price(i, m, h).toString() }),
    );
  await seedRatedUsage(url, usage);
}

interface Run extends Measured {
  kbCalls: Map<string, number>;
  ckCalls: number;
  ckSummaries: number;
}

/** `bridge ARGS` under GNU time, and the calls it made to each service. */
async function timed(args: string[], env: Record<string, string>, kb: RecordedKillBill, ck: FaultProxy) {
  const [kbBefore, ckBefore] = [kb.callsSoFar(), ck.seen().length];
  const run = await measuredBridge(args, env);
  if (run.code !== 0)
    throw new Error(`bridge ${args.join(' ')} exited ${run.code}: ${run.stderr.slice(-2000)}`);
  const kbCalls = new Map([...kb.calls].map(([route, n]) => [route, n - (kbBefore.get(route) ?? 0)]));
  const ckSeen = ck.seen().slice(ckBefore);
  const ckSummaries = ckSeen.filter((r) => r.path.startsWith('/v2/summary')).length;
  return { ...run, kbCalls, ckCalls: ckSeen.length, ckSummaries } satisfies Run;
}

/** A sync of the windows that end by `closedThrough`, its settle delay set from its own start. */
function sync(env: Record<string, string>, closedThrough: Date, kb: RecordedKillBill, ck: FaultProxy) {
  const settleDelay = `${Math.floor((Date.now() - closedThrough.getTime()) / 1000)}s`;
  return timed(['sync', '--json'], { ...env, BRIDGE_SETTLE_DELAY: settleDelay }, kb, ck);
}

function report(label: string, run: Run, synced = true): void {
  const kbCalls = [...run.kbCalls].filter(([, n]) => n > 0).map(([route, n]) => `${route} ${n}`);
  console.log(`  ${label}`);
  console.log(`    wall time           ${run.wallS.toFixed(1)} s`);
  console.log(`    subscriptions/s     ${(N / run.wallS).toFixed(0)}`);
  console.log(
    `    CPU / subscription  ${((run.cpuS * 1000) / N).toFixed(3)} ms (user + system, whole process)`,
  );
  console.log(`    CPU by thread       ${threadCpuLine(run.threads, N)}`);
  console.log(`    peak RSS            ${run.peakRssMb.toFixed(0)} MB`);
  console.log(`    Kill Bill calls     ${kbCalls.join(', ') || 'none'}`);
  console.log(`    CloudKitty calls    ${run.ckCalls} (summaries ${run.ckSummaries})`);
  if (synced) {
    const totals = (JSON.parse(run.stdout) as { totals: Record<string, number> }).totals;
    console.log(`    CloudKitty pull     ${(pullMs(run.stderr) / 1000).toFixed(1)} s`);
    console.log(`    bridge totals       ${JSON.stringify(totals)}`);
  }
}

/** Subscription-units whose recorded cents differ from CloudKitty's, and the first of them. */
function inexact(kb: RecordedKillBill) {
  let wrong = 0;
  let first = '';
  for (let i = 0; i < N; i++)
    METRICS.forEach((metric, m) => {
      const [got, want] = [kb.recorded(i, unitOf(metric)), expectedCents(i, m)];
      if (got === want) return;
      wrong++;
      first ||= `account ${i} ${metric}: ${got} recorded, ${want} rated`;
    });
  return { wrong, first };
}

async function main(): Promise<void> {
  const { killBillVersion } = recordedIndex();
  console.log(
    `Kill Bill here is a RECORDED-ANSWER SERVER (bench/recorded-killbill.ts), not the real Kill Bill: answers ` +
      `recorded from the real Kill Bill ${killBillVersion}, served for ${N} accounts` +
      (USAGE_DELAY_MS ? `, each usage record answered ${USAGE_DELAY_MS} ms late` : '') +
      '; CloudKitty and Redis are real.',
  );
  buildBridge();
  const top = Math.floor(Date.now() / HOUR) * HOUR;
  // Every subscription starts three hours back: a catch-up of two hours, then one more, the steady case.
  const hours = [0, 1, 2].map((h) => new Date(top - (3 - h) * HOUR));
  const [ck, redis, kb] = await Promise.all([
    startCloudKitty(),
    RedisServer.start(),
    RecordedKillBill.start({ accounts: N, start: hours[0]!, usageDelayMs: USAGE_DELAY_MS, ...CREDENTIALS }),
  ]);
  const ckProxy = await FaultProxy.start(ck.url);
  try {
    const t0 = performance.now();
    // CloudKitty outlives a run (earlier benches' projects are still rated): only this run's rows count.
    await ck.reset();
    for (const [h, begin] of hours.entries()) await seedHour(ck.url, begin, h);
    const seeded = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `\nsync at scale: ${N} subscriptions × 2 units, 3 rated hours each (CloudKitty seeded in ${seeded} s)`,
    );
    const env = {
      KILLBILL_URL: kb.url,
      KILLBILL_USERNAME: CREDENTIALS.username,
      KILLBILL_PASSWORD: CREDENTIALS.password,
      KILLBILL_API_KEY: CREDENTIALS.apiKey,
      KILLBILL_API_SECRET: CREDENTIALS.apiSecret,
      REDIS_URL: redis.url,
      ...seededCloudKittyEnv(ckProxy.url),
      LOG_LEVEL: 'info',
    };
    report('bridge registry sync', await timed(['registry', 'sync'], env, kb, ckProxy), false);
    report('bridge sync, catch-up (2 hours)', await sync(env, hours[2]!, kb, ckProxy));
    report('bridge sync, steady (1 hour)', await sync(env, new Date(top), kb, ckProxy));

    const { wrong, first } = inexact(kb);
    console.log(
      `  correct to the cent   ${2 * N - wrong} of ${2 * N} subscription-units${first ? ` (${first})` : ''}`,
    );
    console.log(`  Kill Bill stand-in found: ${JSON.stringify(kb.problems)}`);
    if (wrong > 0 || Object.values(kb.problems).some((n) => n > 0)) process.exitCode = 1;

    const catchUp = await unpagedSummary(ck.url, hours[0]!, hours[2]!);
    const steady = await unpagedSummary(ck.url, hours[2]!, new Date(top));
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `  floor: one unpaged CloudKitty summary: catch-up ${catchUp.rows} rows ${s(catchUp.ms)}, ` +
        `steady ${steady.rows} rows ${s(steady.ms)}`,
    );
    console.log(
      '  floor: Kill Bill NOT MEASURED: a recorded-answer server takes records far faster than Kill Bill, so ' +
        'no Kill Bill floor (nor a ratio to it) can be had here; bench/sync.ts measures it against the real one.',
    );
  } finally {
    await ckProxy.close();
    await kb.close();
    await redis.close();
    await stopSharedServers();
  }
}

await main();
