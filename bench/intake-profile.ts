import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { silentLogger } from '../src/logging/logger.js';
import { ApiService } from '../src/app/api-service.js';
import { TEST_TOKEN, testConfig } from '../test/support/bridge-config.js';
import { RedisServer } from '../test/support/redis-server.js';
import { startBaselineServer } from './baseline-server.js';
import { LoadGenerator } from './load-generator.js';

/**
 * `npx tsx bench/intake-profile.ts intake|baseline OUT.cpuprofile`: one endpoint of the intake bench alone
 * under the same load (distinct bodies, 32 in flight) for BENCH_SECONDS (10), with V8's CPU profiler on
 * for the measured part only. Read it with `npx tsx bench/profile-summary.ts OUT.cpuprofile`: what the intake
 * spends beyond the baseline, function by function, which the bench's ratio is too noisy to show.
 */
const [target, out] = process.argv.slice(2);
if ((target !== 'intake' && target !== 'baseline') || !out) {
  console.error('usage: npx tsx bench/intake-profile.ts intake|baseline OUT.cpuprofile');
  process.exit(2);
}
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

const redis = await RedisServer.start();
const config = testConfig({ REDIS_URL: redis.url, BRIDGE_REGISTER_CALLBACK: 'false' });
const api = new ApiService({ config, logger: silentLogger, port: 0, host: '127.0.0.1' });
await api.start();
const baseline = await startBaselineServer();
const load = LoadGenerator.start();
try {
  const url =
    target === 'intake'
      ? `http://127.0.0.1:${api.port}/killbill/notifications?token=${TEST_TOKEN}`
      : baseline.url;
  const plan = (warmupMs: number, durationMs: number) => ({
    url,
    bodies: { kind: 'distinct' as const },
    concurrency: 32,
    warmupMs,
    durationMs,
    maxRequests: Math.ceil(((warmupMs + durationMs) / 1_000) * 200_000),
    requestTimeoutMs: 10_000,
  });
  await load.run(plan(3_000, 0));
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const cpu = process.cpuUsage();
  const { measured } = await load.run(plan(0, seconds * 1_000));
  const used = process.cpuUsage(cpu);
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
  const answered = measured.ok + measured.errors;
  console.log(
    `${target}: ${measured.ok} answered 2xx in ${seconds} s (${measured.errors} errors), ` +
      `${((used.user + used.system) / answered).toFixed(0)} µs CPU a request; profile in ${out}`,
  );
} finally {
  await load.close();
  await baseline.close();
  await api.stop();
  await redis.close();
}
