import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { CloudKittyClient } from '../../src/clients/openstack/index.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import type { ProjectUsage } from '../../src/sync/rated-usage-pull.js';
import { seedRatedUsage, startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  resetClock,
  startKillBill,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { UNITS, day, kbGet, setUpTenant, type BridgeStack, type Customer } from './real-killbill-stack.js';
import { expectReconciled, wantOf } from './reconcile-cli.js';

const HOUR = 3_600_000;
const PAGE = 50;
const MONTH = new Date('2025-09-01T00:00:00Z');
const NEXT = new Date('2025-10-01T00:00:00Z');

/** Hourly instance usage of one project, hours `from`..`to` (exclusive) after the month start, 4-decimal prices. */
function hours(c: Customer, from: number, to: number): RatedUsage[] {
  const usage: RatedUsage[] = [];
  for (let h = from; h < to; h++) {
    const price = new Decimal(100 + ((h * 37 + c.projectId.charCodeAt(0)) % 89)).div(10_000).toFixed(4);
    usage.push({
      begin: new Date(MONTH.getTime() + h * HOUR),
      projectId: c.projectId,
      metric: 'instance',
      price,
    });
  }
  return usage;
}

/** Each project's rated rows, `begin/type/rate` sorted: a row twice or missing shows as a difference. */
function rowsByProject(usage: ProjectUsage, projects: readonly string[]): Record<string, string[]> {
  return Object.fromEntries(
    projects.map((p) => [p, (usage.get(p) ?? []).map((r) => `${r.beginMs}/${r.type}/${r.rate}`).sort()]),
  );
}

/**
 * The bridge pulls a range in several requests (time chunks of a page each) while cloudkitty-processor keeps
 * rating. The pull must still read one consistent result: a project rated between two of its requests (through
 * a proxy that posts the dataframes right before the second goes on) must be neither counted twice nor read in
 * part, and the sync must then record exactly CloudKitty's totals in the real Kill Bill.
 */
describe('real CloudKitty rating between two requests of the bridge’s pull (e2e)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  let proxy: FaultProxy;
  let stack: BridgeStack;
  let tenant: KillBillTenant;
  /** Customers by project id order, CloudKitty's row order: `first`'s rows lead every page sequence. */
  let first: Customer;
  let second: Customer;
  const seeded: RatedUsage[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
    proxy = await FaultProxy.start(cloudkitty.url);
    cleanups.push(() => proxy.close());
    const env = await setUpTenant(
      server,
      { url: proxy.url, scopeState: 'optional', pageSize: PAGE },
      MONTH,
      cleanups,
    );
    ({ stack, tenant } = env);
    [first, second] = [...env.list].sort((x, y) => (x.projectId < y.projectId ? -1 : 1)) as [
      Customer,
      Customer,
    ];
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
    if (tenant) await resetClock(tenant, 30);
  });

  async function seed(usage: RatedUsage[]): Promise<void> {
    await seedRatedUsage(cloudkitty.url, usage);
    seeded.push(...usage);
  }

  /**
   * Posts `usage` right before the bridge's second request for rows by time (its second time chunk, or the
   * second page of one) is forwarded: mid-pull. Resolves once it has.
   */
  function rateMidPull(usage: RatedUsage[]): () => boolean {
    let done = false;
    let timeRequests = 0;
    proxy.beforeForward = async (req) => {
      const query = new URL(req.path, 'http://x').searchParams;
      if (done || !req.path.startsWith('/v2/summary') || !query.get('groupby')?.startsWith('time')) return;
      if (++timeRequests < 2) return;
      done = true;
      await seed(usage);
    };
    return () => done;
  }

  /** The bridge's pull (one `prepare`) against CloudKitty's whole result for the same range in one request. */
  async function pullAgainstUnpaged(now: Date) {
    const sync = stack.runtime.usageSync;
    const prepared = await sync.prepare({ mode: 'new', now });
    const { begin, end, metricTypes } = sync.lastPull!;
    const all = await new CloudKittyClient({ url: cloudkitty.url }).summary({
      begin,
      end,
      groupby: ['time', 'project_id', 'type'],
      filters: { type: metricTypes },
      limit: 1_000_000,
    });
    const unpaged: ProjectUsage = new Map();
    for (const r of all) {
      if (r.rate === null) continue;
      const list = unpaged.get(r.project_id) ?? [];
      list.push({ beginMs: r.begin.getTime(), type: r.type, stack: null, rate: r.rate });
      unpaged.set(r.project_id, list);
    }
    const projects = [first.projectId, second.projectId];
    return {
      pulled: rowsByProject(prepared.usage, projects),
      unpaged: rowsByProject(unpaged, projects),
      all,
    };
  }

  /** The sync records, then Kill Bill holds each customer's CloudKitty total for the month, half-up to the cent. */
  async function syncAndCheck(now: Date) {
    const report = await stack.runtime.usageSync.runOnceReport({ mode: 'new', now });
    expect(report.results.filter((r) => r.error)).to.deep.equal([]);
    for (const c of [first, second]) {
      const rolled = await kbGet<{ rolledUpUnits: Array<{ unitType: string; amount: number }> }>(
        tenant,
        `/1.0/kb/usages/${c.subscriptionId}?startDate=${day(MONTH)}&endDate=${day(NEXT)}`,
      );
      const held = rolled.rolledUpUnits
        .filter((u) => u.unitType === UNITS.instance)
        .reduce((s, u) => s + u.amount, 0);
      expect(held, `${c.name}: cents Kill Bill holds`).to.equal(seededCents(c));
    }
  }

  /** CloudKitty's exact total of what was seeded for the customer (instance only), half-up to the cent. */
  function seededCents(c: Customer): number {
    const exact = seeded
      .filter((u) => u.projectId === c.projectId)
      .reduce((s, u) => s.plus(u.price), new Decimal(0));
    return exact.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
  }

  it('a project first rated between two requests of the pull is counted whole, once', async function () {
    this.timeout(3 * 60_000);
    const now = new Date(MONTH.getTime() + 4 * 24 * HOUR);
    await seed(hours(second, 0, 72));
    // `first` sorts before `second`: once rated, every row of `second` moves down two pages' worth.
    const fired = rateMidPull(hours(first, 0, 72));
    const { pulled, unpaged, all } = await pullAgainstUnpaged(now);
    expect(fired(), 'the dataframes were posted between two requests of the pull').to.equal(true);
    expect(all.length, 'more rows than one page').to.be.above(2 * PAGE);
    expect(pulled[first.projectId]).to.have.length(72);
    expect(pulled).to.deep.equal(unpaged);
    await syncAndCheck(now);
  });

  it('a project already in the pull, rated for more hours between two requests (rows change in place), is counted whole', async function () {
    this.timeout(3 * 60_000);
    // The watermarks are now 94 hours into the month: this pull starts there, `first`'s rows on page 1.
    const now = new Date(MONTH.getTime() + 7 * 24 * HOUR);
    await seed([...hours(first, 94, 130), ...hours(second, 94, 166)]);
    // Hours 130..143 of `first` are rows 36..49: read, still empty, on page 1; the total does not move.
    const fired = rateMidPull(hours(first, 130, 144));
    const { pulled, unpaged } = await pullAgainstUnpaged(now);
    expect(fired(), 'the dataframes were posted between two requests of the pull').to.equal(true);
    expect(pulled[first.projectId]).to.have.length(50);
    expect(pulled).to.deep.equal(unpaged);
    await syncAndCheck(now);
    // The operator's proof, through the same paging proxy: every seeded hour once on both sides.
    const want = wantOf([first, second], MONTH, (c, m) => (m === 'instance' ? seededCents(c) : 0));
    await expectReconciled(stack, '2025-09', want);
  });
});
