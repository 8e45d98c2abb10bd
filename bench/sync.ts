import { execFileSync, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decimal } from 'decimal.js';
import { upstreamSchema } from '../src/config/schema-upstream.js';
import { CloudKittyClient } from '../src/clients/openstack/index.js';
import type { RatedUsage } from '../test/support/rated-usage-dataframes.js';
import { seedRatedUsage, seededCloudKittyEnv, startCloudKitty } from '../test/support/cloudkitty.js';
import { FaultProxy } from '../test/support/fault-proxy.js';
import { threadCpuLine, watchThreads, type ThreadCpu } from './thread-cpu.js';
import {
  dayOf,
  HOUR,
  killBillForBridge,
  MeteredTenant,
  newProjectId,
  type MeteredAccount,
} from '../test/support/metered-tenant.js';
import { RedisServer } from '../test/support/redis-server.js';
import { stopSharedServers } from '../test/support/root-hooks.js';
import { callTimeline, type CallTimeline } from './proxy-timeline.js';
import { bestBareRateApart, type FloorRate, type FloorTrial } from './sync-floor.js';

/**
 * `npm run bench` (sync part): `bridge sync` of N metered subscriptions × 2 units against the real Kill Bill
 * and the real CloudKitty, first catching up from their start, then one new closed hourly window each (the
 * steady case), each next to its floor measured in the same run: a bare client posting N usage records of
 * the same shape to the same Kill Bill at its best concurrency, plus one unpaged CloudKitty summary of the
 * same rows. The machine is shared and noisy: the ratio is the figure.
 */
const N = Number(process.env.BENCH_SYNC_SUBSCRIPTIONS ?? 1000);
// Kill Bill as a long run wants it: the C2 JIT (scripts/killbill.sh starts with C1 only, for the tests' quick
// start-up) and a heap that holds thousands of accounts. Set either to measure another way.
process.env.KILLBILL_JAVA_OPTS ??= '-XX:TieredStopAtLevel=4';
process.env.KILLBILL_XMX ??= '1g';
const SETUP_CONCURRENCY = 16;
/** The bench leaves `cloudkitty.pageSize` at its default. */
const PAGE_SIZE = upstreamSchema.cloudkitty.pageSize.default;
const UNITS = ['openstack-billed-instance', 'openstack-billed-vcpus'];
/** The floor's records are dated from this many days after the steady hour: after all the bridge records. */
const FIRST_FLOOR_DAY = 3;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The bridge as it ships, compiled: under tsx every run would also pay for compiling TypeScript. In `.tmp/`
// (gitignored), not `dist/`, which bin/bridge.js would prefer over the sources everywhere else.
const BUILT = join(ROOT, '.tmp', 'bench-dist');
const BRIDGE = join(BUILT, 'src', 'app', 'main.js');

export function buildBridge(): void {
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  execFileSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILT], { stdio: 'inherit' });
}

export interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  threads: ThreadCpu | undefined;
}

/** `bridge ARGS` under GNU time: its wall time, CPU (user + system) and peak RSS. */
export function measuredBridge(args: string[], env: Record<string, string>): Promise<Measured> {
  // BENCH_SYNC_PROFILE=DIR writes a V8 CPU profile of each bridge run there (open it in Chrome's DevTools).
  const dir = process.env.BENCH_SYNC_PROFILE;
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  // BENCH_SYNC_ALLOCATIONS=DIR samples where each run allocates, garbage included (allocation-sampler.mjs).
  const allocations = process.env.BENCH_SYNC_ALLOCATIONS;
  if (allocations) profile.push('--import', join(ROOT, 'bench', 'allocation-sampler.mjs'));
  const node = [process.execPath, ...profile, BRIDGE, ...args];
  const child = spawn('/usr/bin/time', ['-f', 'BENCH-TIME %e %U %S %M', ...node], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...(allocations ? { BENCH_SYNC_ALLOCATIONS: allocations } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const threads = watchThreads(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const byThread = threads.stop();
      const m = /BENCH-TIME (\S+) (\S+) (\S+) (\d+)/.exec(stderr);
      if (!m) return reject(new Error(`no timing from /usr/bin/time: ${stderr.slice(-500)}`));
      const [wall, user, sys, rssKb] = m.slice(1).map(Number) as [number, number, number, number];
      const peakRssMb = rssKb / 1024;
      resolve({ code, stdout, stderr, wallS: wall, cpuS: user + sys, peakRssMb, threads: byThread });
    });
  });
}

/** Runs `task` over `items`, `width` at once. */
export async function inLanes<T, R>(
  items: readonly T[],
  width: number,
  task: (item: T, i: number) => Promise<R>,
) {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return out;
}

/**
 * Each project's rated hours: `first` priced off the cent (two metrics priced apart), `second` in whole cents,
 * so a subscription's total is round(first) + second whether or not a billing period ends between them.
 */
export function ratedHours(projects: readonly string[], first: Date, second: Date) {
  const usage: RatedUsage[] = [];
  const cents = projects.map((projectId, i) => {
    const offCent = [new Decimal((i % 97) + 1).div(800), new Decimal((i % 89) + 3).div(400)];
    const whole = [new Decimal((i % 7) + 1).div(100), new Decimal((i % 5) + 2).div(100)];
    ['instance', 'vcpus'].forEach((metric, m) => {
      usage.push({ begin: first, projectId, metric, price: offCent[m]!.toString() });
      usage.push({ begin: second, projectId, metric, price: whole[m]!.toString() });
    });
    return offCent.map((d, m) =>
      d.plus(whole[m]!).times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber(),
    );
  });
  return { usage, cents };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface SyncRun extends Measured {
  kbCalls: number;
  usagePosts: number;
  /** CloudKitty summaries (`/v2/summary`) and every CloudKitty call. */
  ckSummaries: number;
  ckCalls: number;
  /** The CloudKitty pull alone, as the bridge timed it (its `sync.pulled` line). */
  pullS: number;
  /** The usage records and the summaries as the proxies saw them. */
  usageTimeline: CallTimeline;
  summaryTimeline: CallTimeline;
}

/** How long the bridge's CloudKitty pull took, in ms, as its `sync.pulled` line says. */
export function pullMs(stderr: string): number {
  const line = stderr.split('\n').find((l) => l.includes('"event":"sync.pulled"'));
  const ms = line ? (JSON.parse(line) as { durationMs?: number }).durationMs : undefined;
  if (typeof ms !== 'number') throw new Error('the sync logged no sync.pulled line with its durationMs');
  return ms;
}

/**
 * One `bridge sync` of the windows that end by `closedThrough` (its settle delay set from now, as the sync
 * starts: a set-up of many accounts may cross an hour), and the calls it made.
 */
async function measuredSync(
  env: Record<string, string>,
  closedThrough: Date,
  kb: FaultProxy,
  ck: FaultProxy,
): Promise<SyncRun> {
  const [kbBefore, ckBefore] = [kb.seen().length, ck.seen().length];
  const started = Date.now();
  // Whole seconds, rounded down: the bridge reads its clock a moment later, still within the same window.
  const settleDelay = `${Math.floor((started - closedThrough.getTime()) / 1000)}s`;
  const run = await measuredBridge(['sync', '--json'], { ...env, BRIDGE_SETTLE_DELAY: settleDelay });
  if (run.code !== 0) throw new Error(`bridge sync exited ${run.code}: ${run.stderr.slice(-2000)}`);
  const kbCalls = kb.seen().slice(kbBefore);
  const ckCalls = ck.seen().slice(ckBefore);
  const usagePosts = kbCalls.filter((r) => r.method === 'POST' && r.path.startsWith('/1.0/kb/usages'));
  const summaries = ckCalls.filter((r) => r.path.startsWith('/v2/summary'));
  return {
    ...run,
    kbCalls: kbCalls.length,
    usagePosts: usagePosts.length,
    ckSummaries: summaries.length,
    ckCalls: ckCalls.length,
    pullS: pullMs(run.stderr) / 1000,
    usageTimeline: callTimeline(usagePosts),
    summaryTimeline: callTimeline(summaries),
  };
}

/**
 * One unpaged CloudKitty summary of [begin, end): the CloudKitty part of a sync's floor. One call, so it gets
 * all the time it takes, and no retry: the catch-up range of 10,000 projects (620,000 rows) took over 30 s,
 * the client's default, at load 10–20.
 */
export async function unpagedSummary(url: string, begin: Date, end: Date) {
  const start = performance.now();
  const client = new CloudKittyClient({ url, pageSize: 10_000_000, timeoutMs: 30 * 60_000, attempts: 1 });
  const rows = await client.summary({
    begin,
    end,
    groupby: ['time', 'project_id', 'type'],
    filters: { type: ['instance', 'vcpus'] },
  });
  return { rows: rows.length, ms: performance.now() - start };
}

const CONCURRENCIES = [4, 8, 16, 32];
/** Up, then down: Kill Bill warms up as the trials go, which would otherwise favour whichever runs last. */
const TRIAL_ORDER = [16, ...CONCURRENCIES, ...[...CONCURRENCIES].reverse()];

/**
 * The floor's trials: a warm-up at 16 (a fresh Kill Bill takes its first records slower), then each
 * concurrency twice, each trial on subscriptions of its own (a record for a subscription Kill Bill has just
 * taken one for may find it cached), each on a day of its own after the range the bench reads back.
 */
function floorTrials(accounts: readonly MeteredAccount[], second: Date): FloorTrial[] {
  const each = Math.min(400, Math.floor(accounts.length / TRIAL_ORDER.length));
  return TRIAL_ORDER.map((concurrency, k) => ({
    concurrency,
    day: dayOf(second.getTime() + (FIRST_FLOOR_DAY + k) * 24 * HOUR),
    records: accounts
      .slice(k * each, (k + 1) * each)
      .map((a) => ({ subscriptionId: a.subscriptionId, units: UNITS })),
  }));
}

/** The concurrency whose two trials took records fastest on average, and that rate. */
function bestConcurrency(tried: readonly FloorRate[]): { concurrency: number; perSecond: number } {
  const mean = (c: number) => {
    const rates = tried.filter((r) => r.concurrency === c).map((r) => r.perSecond);
    return rates.reduce((a, b) => a + b, 0) / rates.length;
  };
  return CONCURRENCIES.map((c) => ({ concurrency: c, perSecond: mean(c) })).reduce((a, b) =>
    b.perSecond > a.perSecond ? b : a,
  );
}

/** Every subscription's record, `concurrency` at once, on a day of its own after the trials'. */
function fullFloor(accounts: readonly MeteredAccount[], concurrency: number, second: Date): FloorTrial {
  const day = dayOf(second.getTime() + (FIRST_FLOOR_DAY + TRIAL_ORDER.length) * 24 * HOUR);
  return {
    concurrency,
    day,
    records: accounts.map((a) => ({ subscriptionId: a.subscriptionId, units: UNITS })),
  };
}

/** A run's own figures, printed as soon as it ends: a later failure (the floor's) must not lose them. */
function report(label: string, run: SyncRun): void {
  console.log(`  ${label.padEnd(21)} ${run.wallS.toFixed(1)} s`);
  console.log(`    subscriptions/s     ${(N / run.wallS).toFixed(0)}`);
  console.log(
    `    CPU / subscription  ${((run.cpuS * 1000) / N).toFixed(2)} ms (user + system, whole process)`,
  );
  console.log(`    CPU by thread       ${threadCpuLine(run.threads, N)}`);
  console.log(
    `    CloudKitty pull     ${run.pullS.toFixed(1)} s (its summaries: ${run.summaryTimeline.toFirstByteS.toFixed(1)} s ` +
      `to CloudKitty's first byte, ${run.summaryTimeline.busyS.toFixed(1)} s to the last)`,
  );
  const usage = run.usageTimeline;
  console.log(
    `    Kill Bill           ${usage.perSecond.toFixed(1)} records/s over ${usage.spanS.toFixed(1)} s, ` +
      `${usage.meanInFlight.toFixed(1)} in flight on average`,
  );
  console.log(`    peak RSS            ${run.peakRssMb.toFixed(0)} MB`);
  console.log(
    `    calls               Kill Bill ${run.kbCalls} (usage records ${run.usagePosts}), ` +
      `CloudKitty ${run.ckCalls} (summaries ${run.ckSummaries})`,
  );
}

async function main(): Promise<void> {
  buildBridge();
  const [kb, tenant, ck, redis] = await Promise.all([
    killBillForBridge(),
    MeteredTenant.create(),
    startCloudKitty(),
    RedisServer.start(),
  ]);
  const ckProxy = await FaultProxy.start(ck.url);
  try {
    // Two rated hours: the first sync catches up from the subscriptions' start through `first` (windows
    // closed through `second`), the second is the steady one, one new window (`second`, closed through its end).
    const top = Math.floor(Date.now() / HOUR) * HOUR;
    const [first, second] = [new Date(top - 6 * HOUR), new Date(top - 5 * HOUR)];
    const startDay = dayOf(first.getTime() - 24 * HOUR);
    const projects = Array.from({ length: N }, newProjectId);
    const t0 = performance.now();
    const accounts: MeteredAccount[] = await inLanes(projects, SETUP_CONCURRENCY, (p, i) =>
      tenant.meteredAccount(`bench${i}`, p, startDay, 'instance,vcpus'),
    );
    const { usage, cents } = ratedHours(projects, first, second);
    // An hour like the steady one that no sync pulls: its unpaged summary, made just before the steady sync,
    // is the steady pull's floor on a range CloudKitty has not answered yet, as the bridge's is.
    const spare = new Date(second.getTime() + HOUR);
    for (const projectId of projects)
      for (const metric of ['instance', 'vcpus'])
        usage.push({ begin: spare, projectId, metric, price: '0.01' });
    // CloudKitty outlives a run (earlier benches' projects are still rated): only this run's rows count.
    await ck.reset();
    await seedRatedUsage(ck.url, usage);
    console.log(
      `\nsync bench: ${N} subscriptions × 2 units, 2 rated hours each (set up in ${s(performance.now() - t0)})`,
    );
    const env = {
      ...tenant.env(),
      KILLBILL_URL: kb.url,
      REDIS_URL: redis.url,
      ...seededCloudKittyEnv(ckProxy.url),
      // The default level, as the bridge runs: an info line per usage record, which the CPU figures include (two
      // a subscription before 6856bd3). Until 9648b39 this set BRIDGE_LOG_LEVEL, which nothing reads: all at info.
      LOG_LEVEL: 'info',
    };
    const registry = await measuredBridge(['registry', 'sync'], env);
    if (registry.code !== 0)
      throw new Error(`bridge registry sync exited ${registry.code}: ${registry.stderr}`);
    console.log(
      `  bridge registry sync  ${registry.wallS.toFixed(1)} s, ${registry.peakRssMb.toFixed(0)} MB peak RSS`,
    );
    // The best concurrency, found before the syncs: Kill Bill then takes the bridge's records already warm.
    const [warmUp, ...tried] = (
      await bestBareRateApart(
        { kbUrl: kb.url, tenant: tenant.tenant, trials: floorTrials(accounts, second) },
        join(BUILT, 'floor-run.json'),
      )
    ).tried;
    const best = bestConcurrency(tried);
    const catchUp = await measuredSync(env, second, kb, ckProxy);
    report('bridge sync, catch-up', catchUp);
    const likeHour = await unpagedSummary(ck.url, spare, new Date(spare.getTime() + HOUR));
    const steady = await measuredSync(env, new Date(second.getTime() + HOUR), kb, ckProxy);
    report('bridge sync, steady', steady);

    // Up to the floor's first day, exclusive: its records are for the same subscriptions.
    const readEnd = dayOf(second.getTime() + FIRST_FLOOR_DAY * 24 * HOUR);
    // One at a time per lane and unit: Kill Bill's usage reads are slow, and a time-out here is no result.
    const read = await inLanes(accounts, 4, async (a) => {
      const got: number[] = [];
      for (const unit of UNITS)
        got.push(await tenant.recordedCents(a.subscriptionId, startDay, unit, readEnd));
      return got;
    });
    const wrong = read.filter((got, i) => got.some((c, u) => c !== cents[i]![u])).length;
    console.log(`  correct to the cent   ${N - wrong} of ${N} subscriptions (both units, both hours)`);
    if (wrong > 0) process.exitCode = 1;

    // The floor's Kill Bill part, after the totals are read (its records land on a later day of the same
    // subscriptions): all N records at the best concurrency the trials found.
    const full = await bestBareRateApart(
      {
        kbUrl: kb.url,
        tenant: tenant.tenant,
        trials: [fullFloor(accounts, best.concurrency, second)],
      },
      join(BUILT, 'floor-run.json'),
    );
    const cpuMsPerRecord = full.cpuMsPerRecord;
    const kbFloorMs = full.best.ms;
    const wholeRange = await unpagedSummary(ck.url, new Date(`${startDay}T00:00:00Z`), second);
    const newHour = await unpagedSummary(ck.url, second, new Date(second.getTime() + HOUR));

    const rate = (r: FloorRate) => `${r.concurrency}: ${r.perSecond.toFixed(0)}/s`;
    console.log(
      `  floor: Kill Bill ${N} records ${s(kbFloorMs)} at ${rate(full.best)} ` +
        `(before the syncs, ${warmUp!.records} each: warm-up ${rate(warmUp!)}, then ${tried.map(rate).join(', ')})`,
    );
    console.log(
      `         + one unpaged CloudKitty summary: catch-up range ${wholeRange.rows} rows ${s(wholeRange.ms)}, ` +
        `new hour ${newHour.rows} rows ${s(newHour.ms)}`,
    );
    const ratio = (run: SyncRun, floorMs: number) => ((run.wallS * 1000) / floorMs).toFixed(2);
    console.log(`  bridge sync, catch-up ${ratio(catchUp, kbFloorMs + wholeRange.ms)}× its floor`);
    console.log(`  bridge sync, steady   ${ratio(steady, kbFloorMs + newHour.ms)}× its floor`);
    const pull = (run: SyncRun, floor: { rows: number; ms: number }) =>
      `${((run.pullS * 1000) / floor.ms).toFixed(2)}× the unpaged summary, ${run.ckSummaries} summaries ` +
      `for ⌈rows / page⌉ = ${Math.ceil(floor.rows / PAGE_SIZE)}`;
    console.log(`  CloudKitty pull, catch-up ${pull(catchUp, wholeRange)}`);
    console.log(`  CloudKitty pull, steady   ${pull(steady, newHour)} (made after the sync)`);
    console.log(
      `                            ${pull(steady, likeHour)} (of a like hour, ${likeHour.rows} rows, no one ` +
        `had asked for: ${s(likeHour.ms)})`,
    );
    const cpu = (run: SyncRun) =>
      `${((run.cpuS * 1000) / N / cpuMsPerRecord).toFixed(2)}× the bare client's ${cpuMsPerRecord.toFixed(2)} ms a record`;
    console.log(`  CPU / subscription, catch-up ${cpu(catchUp)}`);
    console.log(`  CPU / subscription, steady   ${cpu(steady)}`);
    const calls = full.systemCallsPerRecord;
    if (calls)
      console.log(
        `  system calls, bare client   ${calls.reads.toFixed(1)} reads, ${calls.writes.toFixed(1)} writes a record`,
      );
  } finally {
    await ckProxy.close();
    await kb.close();
    await redis.close();
    await stopSharedServers();
  }
}

// Imported for its helpers (sync-at-scale.ts, record-killbill-answers.ts), it benches nothing.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
