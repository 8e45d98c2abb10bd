import { CloudKittyClient } from '../src/clients/openstack/index.js';
import type { RatedUsage } from '../test/support/rated-usage-dataframes.js';
import { pullRatedUsage } from '../src/sync/rated-usage-pull.js';
import { seedRatedUsage, startCloudKitty } from '../test/support/cloudkitty.js';
import { OpenStackRequests } from '../test/support/openstack-requests.js';

/**
 * `npm run bench` (second part): the bridge's CloudKitty pull against the real CloudKitty, next to one unpaged
 * summary call of the same range made in the same run (the floor: CloudKitty builds the result once) and
 * the old way, one query paged by offset (CloudKitty rebuilds the whole result for every page). Shared
 * machines are noisy, so the ratios are the figures to compare; nothing passes or fails.
 */
const HOUR = 3_600_000;
const projects = Number(process.env.BENCH_PULL_PROJECTS ?? 300);
const hours = Number(process.env.BENCH_PULL_HOURS ?? 48);
const pageSize = Number(process.env.BENCH_PULL_PAGE ?? 1000);
const rounds = Number(process.env.BENCH_PULL_ROUNDS ?? 3);

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
    const floorClient = new CloudKittyClient({ url: ck.url, pageSize: 10_000_000 });
    const pulled = new OpenStackRequests();
    const pulledClient = new CloudKittyClient({ url: ck.url, pageSize, onRequest: pulled.onRequest });
    const paged = new OpenStackRequests();
    const pagedClient = new CloudKittyClient({ url: ck.url, pageSize, onRequest: paged.onRequest });
    // Interleaved rounds, best of each: the floor and the bridge's pull; the offset-paged query, being
    // many times slower, once.
    const best = { floor: Infinity, pull: Infinity, paged: Infinity };
    let rows = 0;
    for (let round = 0; round < rounds; round++) {
      const floor = await timed(() => floorClient.summary(query));
      rows = floor.value.length;
      const pull = await timed(() =>
        pullRatedUsage(pulledClient, { begin, end, metricTypes: ['instance', 'vcpus'] }),
      );
      if (round === 0) {
        const once = await timed(() => pagedClient.summary(query));
        if (once.value.length !== rows)
          throw new Error(`paged query returned ${once.value.length} of ${rows} rows`);
        best.paged = once.ms;
      }
      const pulledRows = [...pull.value.values()].reduce((a, r) => a + r.length, 0);
      if (pulledRows !== rows) throw new Error(`the pull returned ${pulledRows} of ${rows} rows`);
      best.floor = Math.min(best.floor, floor.ms);
      best.pull = Math.min(best.pull, pull.ms);
    }
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `\nCloudKitty pull: ${projects} projects × 2 types × ${hours} h = ${rows} rows, page size ${pageSize} (seeded in ${s(seeded.ms)})`,
    );
    console.log(`  one unpaged summary call (floor)  ${s(best.floor)}   1.00×`);
    console.log(
      `  the bridge's pull (time chunks)   ${s(best.pull)}   ${(best.pull / best.floor).toFixed(2)}× the floor`,
    );
    console.log(
      `  one query paged by offset (old)   ${s(best.paged)}   ${(best.paged / best.floor).toFixed(2)}× the floor`,
    );
    console.log(`  requests: pull ${pulled.count / rounds} per round, paged ${paged.count}`);
  } finally {
    await ck.stop();
  }
}

await main();
