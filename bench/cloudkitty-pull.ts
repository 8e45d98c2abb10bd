import { CloudKittyClient } from '../src/clients/openstack/index.js';
import type { RatedUsage } from '../test/support/rated-usage-dataframes.js';
import { pullRatedUsage } from '../src/sync/rated-usage-pull.js';
import { seedRatedUsage, startCloudKitty } from '../test/support/cloudkitty.js';
import { OpenStackRequests } from '../test/support/openstack-requests.js';

/**
 * `npm run bench` (second part): the bridge's CloudKitty pull against the real CloudKitty, next to one unpaged
 * summary call of the same range made in the same run (the floor: CloudKitty builds the result once), as the
 * sync makes it (told how many projects are metered) and without that guess (an hour over a page is then asked
 * twice: at the page, then whole). Shared machines are noisy, so the ratios are the figures to compare;
 * nothing passes or fails.
 */
const HOUR = 3_600_000;
const projects = Number(process.env.BENCH_PULL_PROJECTS ?? 300);
const hours = Number(process.env.BENCH_PULL_HOURS ?? 48);
const pageSize = Number(process.env.BENCH_PULL_PAGE ?? 1000);
const rounds = Number(process.env.BENCH_PULL_ROUNDS ?? 3);
/** One answer of 100,000 projects over hours takes CloudKitty longer than a client's default 30 s. */
const TIMEOUT_MS = 600_000;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

async function main(): Promise<void> {
  const ck = await startCloudKitty();
  try {
    const begin = new Date(Math.floor(Date.now() / HOUR) * HOUR - (hours + 24) * HOUR);
    const end = new Date(begin.getTime() + hours * HOUR);
    const usage: RatedUsage[] = [];
    for (let p = 0; p < projects; p++) {
      const projectId = `${p.toString(16).padStart(8, '0')}${'b'.repeat(24)}`;
      for (let h = 0; h < hours; h++) {
        for (const metric of ['instance', 'vcpus']) {
          const price = ((p * 31 + h * 7) % 97) / 1000 + 0.001;
          usage.push({
            begin: new Date(begin.getTime() + h * HOUR),
            projectId,
            metric,
            price: price.toFixed(4),
          });
        }
      }
    }
    const seeded = await timed(() => seedRatedUsage(ck.url, usage));
    const query = {
      begin,
      end,
      groupby: ['time', 'project_id', 'type'],
      filters: { type: ['instance', 'vcpus'] },
    };
    const floorClient = new CloudKittyClient({ url: ck.url, pageSize: 10_000_000, timeoutMs: TIMEOUT_MS });
    const pulled = new OpenStackRequests();
    const pulledClient = new CloudKittyClient({
      url: ck.url,
      pageSize,
      onRequest: pulled.onRequest,
      timeoutMs: TIMEOUT_MS,
    });
    const unguessed = new OpenStackRequests();
    const unguessedClient = new CloudKittyClient({
      url: ck.url,
      pageSize,
      onRequest: unguessed.onRequest,
      timeoutMs: TIMEOUT_MS,
    });
    // Interleaved rounds, best of each.
    const best = { floor: Infinity, pull: Infinity, unguessed: Infinity };
    const metricTypes = ['instance', 'vcpus'];
    let rows = 0;
    for (let round = 0; round < rounds; round++) {
      const floor = await timed(() => floorClient.summary(query));
      rows = floor.value.length;
      const pull = await timed(() =>
        pullRatedUsage(pulledClient, { begin, end, metricTypes, expectedProjects: projects }),
      );
      const blind = await timed(() => pullRatedUsage(unguessedClient, { begin, end, metricTypes }));
      for (const [way, usage] of [
        ['the pull', pull.value],
        ['the pull without the guess', blind.value],
      ] as const) {
        const pulledRows = [...usage.values()].reduce((a, r) => a + r.length, 0);
        if (pulledRows !== rows) throw new Error(`${way} returned ${pulledRows} of ${rows} rows`);
      }
      best.floor = Math.min(best.floor, floor.ms);
      best.pull = Math.min(best.pull, pull.ms);
      best.unguessed = Math.min(best.unguessed, blind.ms);
    }
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `\nCloudKitty pull: ${projects} projects × 2 types × ${hours} h = ${rows} rows, page size ${pageSize} (seeded in ${s(seeded.ms)})`,
    );
    console.log(`  one unpaged summary call (floor)  ${s(best.floor)}   1.00×`);
    console.log(
      `  the bridge's pull, as the sync    ${s(best.pull)}   ${(best.pull / best.floor).toFixed(2)}× the floor`,
    );
    console.log(
      `  the pull not told the projects    ${s(best.unguessed)}   ${(best.unguessed / best.floor).toFixed(2)}× the floor`,
    );
    console.log(
      `  requests per round: pull ${pulled.count / rounds}, not told ${unguessed.count / rounds}, ⌈rows / page⌉ ${Math.ceil(rows / pageSize)}`,
    );
  } finally {
    await ck.stop();
  }
}

await main();
