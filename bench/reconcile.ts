import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KillBillClient, KillBillClientOptions } from '../src/clients/killbill/killbill-client.js';
import { DEFAULT_PAGE_SIZE, PagedListings } from '../src/clients/killbill/paged-listings.js';
import { silentLogger } from '../src/logging/logger.js';
import { AccountRegistrar } from '../src/registry/account-registrar.js';
import { FIELD } from '../src/registry/metered-subscription.js';
import { RegistryStore } from '../src/registry/registry-store.js';
import { createTenant, startKillBill, type KillBillTenant } from '../test/support/killbill-server.js';
import { RedisServer } from '../test/support/redis-server.js';
import { SeedingKillBillClient } from '../test/support/seeding-killbill-client.js';

// Kill Bill as a long run wants it: the C2 JIT (scripts/killbill.sh starts with C1 only, for the tests' quick
// start-up) and a heap that holds thousands of accounts. Set either to measure another way.
process.env.KILLBILL_JAVA_OPTS ??= '-XX:TieredStopAtLevel=4';
process.env.KILLBILL_XMX ??= '1g';

/**
 * `npm run bench` (third part): a registry rebuild (`bridge registry sync`, the worker's `reconcile`) of a
 * tenant of N accounts on the REAL Kill Bill, next to the floor measured in the same run: a bare client
 * paging the same listings and doing nothing with them. Re-reading every account, as the rebuild did
 * before it read pages, runs once for its call count and time. Prints; passes or fails nothing.
 */
const accounts = Number(process.env.BENCH_RECONCILE_ACCOUNTS ?? 1000);
/** BENCH_RECONCILE_PAGE: page sizes, comma-separated, each measured on the same accounts. */
const pageSizes = (process.env.BENCH_RECONCILE_PAGE ?? String(DEFAULT_PAGE_SIZE)).split(',').map(Number);
if (pageSizes.some((n) => !Number.isSafeInteger(n) || n < 1))
  throw new Error(
    `BENCH_RECONCILE_PAGE: page sizes (whole numbers, comma-separated), not "${process.env.BENCH_RECONCILE_PAGE}"`,
  );
const rounds = Number(process.env.BENCH_RECONCILE_ROUNDS ?? 2);
const perAccount = process.env.BENCH_RECONCILE_PER_ACCOUNT !== '0';
const PLAN = 'openstack-standard-monthly';
const CATALOG = new URL('../catalog/catalog.xml', import.meta.url);
const METRIC_UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' };

interface Measured {
  ms: number;
  calls: number;
  /** Highest RSS sampled while it ran, in MB. */
  peakRssMb: number;
}

/** Runs `lanes` workers over `count` items at once. */
async function inLanes(count: number, lanes: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
}

/** N accounts the way an operator makes them: fields, then a subscription; every 10th with its own field. */
async function populate(kb: SeedingKillBillClient): Promise<void> {
  await kb.uploadCatalogXml(readFileSync(CATALOG, 'utf8'));
  let done = 0;
  await inLanes(accounts, 8, async (i) => {
    const accountId = await kb.createAccount({
      name: `bench ${i}`,
      currency: 'USD',
    } as Parameters<SeedingKillBillClient['createAccount']>[0]);
    await kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: randomUUID().replace(/-/g, '') },
      { name: FIELD.metrics, value: 'instance,vcpus' },
    ]);
    const subscriptionId = await kb.createSubscription(accountId, PLAN);
    if (i % 10 === 0) {
      await kb.addSubscriptionCustomFields(subscriptionId, [{ name: FIELD.stackId, value: `stack-${i}` }]);
    }
    if (++done % 100 === 0) process.stderr.write(`\r  made ${done}/${accounts} accounts`);
  });
  process.stderr.write('\n');
}

/** Times `fn`, counting the Kill Bill calls it makes and sampling RSS every 10 ms. */
async function measure(counter: { calls: number }, fn: () => Promise<void>): Promise<Measured> {
  const callsBefore = counter.calls;
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const started = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - started;
  peak = Math.max(peak, process.memoryUsage.rss());
  return { ms, calls: counter.calls - callsBefore, peakRssMb: peak / 2 ** 20 };
}

/** Seconds each listing took in the floor's last run, for where Kill Bill's time goes. */
type ListingTimes = Record<'fields' | 'bundles' | 'accounts', number>;

/** The floor: every page of the three listings, read and dropped. */
async function pageListings(kb: KillBillClient, pageSize: number, times: ListingTimes): Promise<void> {
  const listings = new PagedListings(kb, pageSize);
  await kb.getCatalogUnits();
  const timed = async (name: keyof ListingTimes, pages: AsyncGenerator<unknown[]>) => {
    const started = performance.now();
    for await (const _ of pages);
    times[name] = (performance.now() - started) / 1000;
  };
  await timed('fields', listings.customFields());
  await timed('bundles', listings.bundles());
  await timed('accounts', listings.accounts());
}

/** Before paged listings: every account re-read (account, all its fields, its bundles), 8 at once. */
async function reReadEveryAccount(kb: KillBillClient, registrar: AccountRegistrar, tenant: string) {
  const units = await kb.getCatalogUnits();
  const ids: string[] = [];
  for await (const page of new PagedListings(kb).accounts()) ids.push(...page.map((a) => a.accountId!));
  await inLanes(ids.length, 8, async (i) => void (await registrar.refreshAccount(tenant, ids[i]!, units)));
}

function line(name: string, m: Measured, floor: Measured): string {
  const rate = Math.round(accounts / (m.ms / 1000));
  return (
    `  ${name.padEnd(36)} ${(m.ms / 1000).toFixed(2).padStart(7)} s  ${String(m.calls).padStart(6)} calls` +
    `  ${String(rate).padStart(6)} accounts/s  peak RSS ${m.peakRssMb.toFixed(0).padStart(4)} MB` +
    `  ${(m.ms / floor.ms).toFixed(2)}× the floor`
  );
}

/** The bridge's registrar for the bench's tenant, silent; `pageSize` unset is the bridge's default. */
function benchRegistrar(kb: KillBillClient, tenant: KillBillTenant, store: RegistryStore, pageSize?: number) {
  const clients = new Map([[tenant.apiKey, kb]]);
  return new AccountRegistrar({ clients, store, metricUnits: METRIC_UNITS, logger: silentLogger, pageSize });
}

/** The floor and the rebuild at one page size, taking turns, best of each. */
async function atPageSize(
  kb: KillBillClient,
  tenant: KillBillTenant,
  store: RegistryStore,
  counter: { calls: number },
  pageSize: number,
): Promise<{ floor: Measured; rebuild: Measured }> {
  const registrar = benchRegistrar(kb, tenant, store, pageSize);
  const best = (a: Measured | undefined, b: Measured) => (a && a.ms <= b.ms ? a : b);
  let floor: Measured | undefined;
  let rebuild: Measured | undefined;
  const times: ListingTimes = { fields: 0, bundles: 0, accounts: 0 };
  // Taking turns, best of each: a slow moment of the shared machine falls on both alike.
  for (let round = 0; round < rounds; round++) {
    floor = best(floor, await measure(counter, () => pageListings(kb, pageSize, times)));
    rebuild = best(
      rebuild,
      await measure(counter, async () => void (await registrar.reconcileTenant(tenant.apiKey))),
    );
  }
  const metered = (await store.entries(tenant.apiKey)).filter((e) => e.status === 'metered').length;
  console.log(`\n page size ${pageSize}: ${metered} metered, best of ${rounds}`);
  console.log(line('bare client paging listings (floor)', floor!, floor!));
  console.log(line('registry rebuild from pages', rebuild!, floor!));
  const parts = Object.entries(times).map(([name, s]) => `${name} ${s.toFixed(2)} s`);
  console.log(`  the floor's last round, listing by listing: ${parts.join(', ')}`);
  return { floor: floor!, rebuild: rebuild! };
}

async function run(tenant: KillBillTenant, redis: RedisServer): Promise<void> {
  const counter = { calls: 0 };
  const options: KillBillClientOptions = { ...tenant, onCall: () => counter.calls++ };
  const kb = new SeedingKillBillClient({ ...options, createdBy: 'bench-reconcile' });
  const made = performance.now();
  await populate(kb);
  const madeS = ((performance.now() - made) / 1000).toFixed(0);
  const connection = redis.client();
  const store = new RegistryStore(connection, 'bench');
  console.log(`\nRegistry rebuild: ${accounts} accounts × 1 subscription (made in ${madeS} s)`);
  // One pass untimed first: the first after the accounts were made was the slowest at any page size (10,000:
  // 30.6 s in pages of 1,000 read first, 21.7 s read second), Kill Bill's JIT and caches not yet warm as a
  // running server's are.
  await pageListings(kb, pageSizes[0]!, { fields: 0, bundles: 0, accounts: 0 });
  const measured: Array<{ floor: Measured; rebuild: Measured }> = [];
  for (const pageSize of pageSizes) measured.push(await atPageSize(kb, tenant, store, counter, pageSize));
  if (perAccount) {
    const registrar = benchRegistrar(kb, tenant, store);
    const old = await measure(counter, () => reReadEveryAccount(kb, registrar, tenant.apiKey));
    console.log(line('re-reading every account (before)', old, measured[0]!.floor));
    const share = ((100 * measured[0]!.rebuild.calls) / old.calls).toFixed(2);
    console.log(
      `  Kill Bill calls of the rebuild (page size ${pageSizes[0]}): ${share} % of re-reading every account`,
    );
  }
  connection.disconnect();
}

async function main(): Promise<void> {
  const server = await startKillBill();
  const redis = await RedisServer.start().catch(async (err: unknown) => {
    await server.stop();
    throw err;
  });
  try {
    console.log(`Kill Bill ${server.version} at ${server.url}, Node ${process.version}`);
    await run(await createTenant({ server }), redis);
  } finally {
    await redis.close();
    await server.stop();
  }
}

await main();
