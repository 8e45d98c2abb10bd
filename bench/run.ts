import { randomUUID } from 'node:crypto';
import { silentLogger } from '../src/logging/logger.js';
import { ApiService } from '../src/app/api-service.js';
import { TEST_TOKEN, testConfig } from '../test/support/bridge-config.js';
import { RedisServer } from '../test/support/redis-server.js';
import { startBaselineServer } from './baseline-server.js';
import { LoadGenerator, type LoadPlan, type PhaseTally } from './load-generator.js';
import type { BodyPlan } from './notification-bodies.js';
import { RegistryJobs } from './registry-jobs.js';
import { mergeTallies, printTable, requestsPerSecond } from './report.js';

/**
 * `npm run bench`: intake throughput with durable enqueue, next to a bare Express endpoint measured in the
 * same run. Shared machines are noisy, so only the ratio means anything; nothing here passes or fails.
 */

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    // Nothing is started yet, so leaving at once leaks nothing.
    console.error(`bench: ${name} must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const seconds = positiveNumber('BENCH_SECONDS', 5);
const concurrency = Math.round(positiveNumber('BENCH_CONCURRENCY', 32));
const rounds = Math.round(positiveNumber('BENCH_ROUNDS', 5));
const WARMUP_MS = 1_000;

interface Scenario {
  name: string;
  url: string;
  bodies: BodyPlan;
  /** How many registry jobs its 2xx answers should have left, given how many there were; none for the baseline. */
  expectedJobs?: (answeredOk: number) => number;
  rounds: PhaseTally[];
  /** 2xx answers over warm-up and measured rounds: warm-up requests enqueue jobs too. */
  answeredOk: number;
  jobsAdded: number;
  /** CPU spent while its load ran (warm-up included), in microseconds, and the requests it answered then. */
  cpu: { processUs: number; redisUs: number; requests: number };
}

/** Everything started, stopped in reverse order, each step on its own so one failure does not leak the rest. */
const cleanups: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** One cleanup however many ask for it: Ctrl-C and the end of main() both wait for the same one. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        console.error('cleanup step failed:', (err as Error).message);
      }
    }
  })();
  return cleaning;
}

function plan(scenario: Scenario, warmupMs: number): LoadPlan {
  const durationMs = (seconds * 1_000) / rounds;
  return {
    url: scenario.url,
    bodies: scenario.bodies,
    concurrency,
    warmupMs,
    durationMs,
    // Far above what loopback can do in the time given; it only bounds the loop and its latency samples.
    maxRequests: Math.ceil(((warmupMs + durationMs) / 1_000) * 200_000),
    // Above the intake's own 5 s enqueue timeout, so a slow Redis shows as a 503 rather than a client timeout.
    requestTimeoutMs: 10_000,
  };
}

const answered = (tally: PhaseTally) => tally.ok + tally.errors;

function verdict(expected: number, actual: number): string {
  const diff = actual - expected;
  return diff === 0 ? 'match' : `MISMATCH (${diff > 0 ? '+' : ''}${diff})`;
}

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  cleanups.push(() => redis.close());
  const config = testConfig({ REDIS_URL: redis.url, BRIDGE_REGISTER_CALLBACK: 'false' });

  const api = new ApiService({ config, logger: silentLogger, port: 0, host: '127.0.0.1' });
  await api.start();
  cleanups.push(() => api.stop());

  const baseline = await startBaselineServer();
  cleanups.push(() => baseline.close());

  const jobs = new RegistryJobs(config);
  cleanups.push(() => jobs.close());

  const load = LoadGenerator.start();
  cleanups.push(() => load.close());

  const intakeUrl = `http://127.0.0.1:${api.port}/killbill/notifications?token=${TEST_TOKEN}`;
  const scenario = (name: string, url: string, bodies: BodyPlan, expectedJobs?: (ok: number) => number) =>
    ({
      name,
      url,
      bodies,
      expectedJobs,
      rounds: [],
      answeredOk: 0,
      jobsAdded: 0,
      cpu: { processUs: 0, redisUs: 0, requests: 0 },
    }) satisfies Scenario;
  const baselineScenario = scenario('baseline express', baseline.url, { kind: 'distinct' });
  const distinct = scenario('intake, distinct bodies', intakeUrl, { kind: 'distinct' }, (ok) => ok);
  // Every repeat is the same tenant and body, so deduplication keeps them all as one job.
  const repeated = scenario(
    'intake, repeated body',
    intakeUrl,
    { kind: 'repeat', accountId: randomUUID() },
    (ok) => (ok > 0 ? 1 : 0),
  );
  const scenarios: Scenario[] = [baselineScenario, distinct, repeated];

  console.log(
    `bench: ${seconds} s per scenario in ${rounds} interleaved rounds, after ${WARMUP_MS / 1_000} s warm-up; ` +
      `${concurrency} concurrent keep-alive connections; redis-server ${redis.url}`,
  );

  // Short rounds taking turns, rather than one long run each: when the shared machine slows down or speeds
  // up, every scenario gets its share of it, so the ratios are fair even when the raw numbers drift.
  for (let round = 0; round < rounds; round++) {
    for (const s of scenarios) {
      const before = s.expectedJobs ? await jobs.count() : 0;
      const redisCpuBefore = await jobs.redisCpuSeconds();
      const processCpuBefore = process.cpuUsage();
      const result = await load.run(plan(s, round === 0 ? WARMUP_MS : 0));
      const processCpu = process.cpuUsage(processCpuBefore);
      s.cpu.processUs += processCpu.user + processCpu.system;
      s.cpu.redisUs += ((await jobs.redisCpuSeconds()) - redisCpuBefore) * 1e6;
      s.cpu.requests += answered(result.warmup) + answered(result.measured);
      if (s.expectedJobs) s.jobsAdded += (await jobs.count()) - before;
      s.rounds.push(result.measured);
      s.answeredOk += result.warmup.ok + result.measured.ok;
    }
  }

  const baselineTally = mergeTallies(baselineScenario.rounds);
  const yardstick = requestsPerSecond(baselineTally);
  const ratioOf = (tally: PhaseTally) => (yardstick > 0 ? requestsPerSecond(tally) / yardstick : 0);
  console.log('');
  printTable(
    scenarios.map((s) => {
      const tally = mergeTallies(s.rounds);
      const { processUs, redisUs, requests } = s.cpu;
      return {
        scenario: s.name,
        tally,
        ratio: s === baselineScenario ? undefined : ratioOf(tally),
        cpuPerRequestUs:
          requests > 0 ? { process: processUs / requests, redis: redisUs / requests } : undefined,
      };
    }),
  );
  console.log('');

  for (const s of scenarios) {
    if (!s.expectedJobs) continue;
    const expected = s.expectedJobs(s.answeredOk);
    console.log(
      `jobs check, ${s.name}: ${s.answeredOk} answered 2xx (warm-up included), jobs added to the ` +
        `registry queue: ${s.jobsAdded}, expected ${expected}: ${verdict(expected, s.jobsAdded)}`,
    );
  }
  // Each round's ratio against the baseline round run just before it: their spread is the noise of this run.
  const perRound = distinct.rounds.map((t, i) => {
    const base = requestsPerSecond(baselineScenario.rounds[i]!);
    return base > 0 ? (requestsPerSecond(t) / base).toFixed(2) : '-';
  });
  console.log(`per-round intake/baseline ratios: ${perRound.join(' ')}`);
  console.log(`intake/baseline ratio: ${ratioOf(mergeTallies(distinct.rounds)).toFixed(2)}`);
}

process.once('SIGINT', () => {
  interrupted = true;
  void cleanUp().then(() => process.exit(130));
});

try {
  await main();
  process.exitCode = 0;
} catch (err) {
  // Once interrupted, the load client being stopped under a running scenario is expected, not a failure.
  if (!interrupted) console.error('bench failed:', err);
  process.exitCode = interrupted ? 130 : 1;
} finally {
  await cleanUp();
}
// A library handle left open (a timer, a socket) must not keep a finished bench alive.
process.exit(process.exitCode ?? 0);
