import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { KillBillError } from '../../src/errors/index.js';
import { buildUsageRecord, parseWindowSize } from '../../src/metering/index.js';
import type { SubscriptionSyncResult } from '../../src/sync/subscription-sync.js';
import { startCloudKitty, seedRatedUsage, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  moveClockDays,
  resetClock,
  startKillBill,
  waitForQueues,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import {
  UNITS,
  day,
  exactTotal,
  kbGet,
  seedScenario,
  setUpTenant,
  type Customer,
  type Invoice,
  type Metric,
} from './real-killbill-stack.js';
import { expectReconciled, reconciledFigures, wantOf } from './reconcile-cli.js';

/**
 * What Kill Bill must bill a customer for a metric: CloudKitty's exact total, half-up to the cent (0 when not
 * metered); and `floatNoise`, how far the float sums per hour that CloudKitty reports lie from it.
 */
function expected(c: Customer, metric: Metric) {
  const points = c.usage.filter((u) => u.metric === metric);
  const exact = exactTotal(points);
  const perHour = new Map<number, number>();
  for (const u of points) perHour.set(+u.begin, (perHour.get(+u.begin) ?? 0) + Number(u.price));
  const floats = [...perHour.values()].reduce((s, f) => s.plus(String(f)), new Decimal(0));
  const cents = c.metrics.includes(metric)
    ? exact.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber()
    : 0;
  return { exact, cents, floatNoise: floats.minus(exact) };
}

const cents = (c: Customer, metric: Metric) => expected(c, metric).cents;
const errorsOf = (results: SubscriptionSyncResult[]) => results.filter((r) => r.error);
const sum = (results: SubscriptionSyncResult[], key: 'records' | 'alreadyRecorded') =>
  results.reduce((s, r) => s + r[key], 0);

/**
 * The bridge against the REAL Kill Bill (scripts/killbill.sh, 0.22.26 here) and a real CloudKitty: accounts and
 * metering fields made in Kill Bill reach the bridge's registry by Kill Bill's own push notifications, the sync
 * records CloudKitty's rated money, and the invoice Kill Bill generates when its clock passes the period end
 * must equal CloudKitty's total, half-up to the cent, per account and unit.
 */
describe('real Kill Bill: invoices equal CloudKitty (e2e)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  const cleanups: Array<() => Promise<void>> = [];
  let clockTenant: KillBillTenant | undefined;

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load, a first download minutes
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
    // One clock for the whole server: back to real time for whoever runs next.
    if (clockTenant) await resetClock(clockTenant, 30);
  });

  async function setUp(month: Date, front?: (url: string) => Promise<string>) {
    const env = await setUpTenant(server, cloudkitty.url, month, cleanups, front);
    clockTenant = env.tenant;
    // The only rebuild is the one the catalog upload asked for, before any account existed.
    expect(env.catalogRebuild.accounts, 'accounts the catalog rebuild saw').to.equal(0);
    expect(
      env.reconciled,
      'the registry learnt the accounts from push notifications, no rebuild ran',
    ).to.deep.equal(env.catalogRebuild);
    return env;
  }

  /** Moves Kill Bill's clock past the period end; checks each customer's invoice and usage against CloudKitty. */
  async function invoiceAndCheck(tenant: KillBillTenant, month: Date, next: Date, list: Customer[]) {
    await moveClockDays(tenant, Math.round((+next - +month) / 86_400_000), 60);
    await waitForQueues(tenant, 60);
    const figures: string[] = [];
    const trackingIds: string[] = [];
    for (const c of list) {
      const invoices = await waitFor(
        `Kill Bill has invoiced ${c.name} for ${day(month)}`,
        async () => {
          const all = await kbGet<Invoice[]>(
            tenant,
            `/1.0/kb/accounts/${c.accountId}/invoices?withItems=true`,
          );
          return all.some((i) => i.items.some((it) => it.itemType === 'USAGE')) ? all : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      trackingIds.push(...invoices.flatMap((i) => i.trackingIds ?? []));
      const usageItems = invoices
        .flatMap((i) => i.items)
        .filter((it) => it.itemType === 'USAGE' && it.subscriptionId === c.subscriptionId);
      for (const it of usageItems) expect([it.startDate, it.endDate]).to.deep.equal([day(month), day(next)]);
      const rolled = await kbGet<{ rolledUpUnits: Array<{ unitType: string; amount: number }> }>(
        tenant,
        `/1.0/kb/usages/${c.subscriptionId}?startDate=${day(month)}&endDate=${day(next)}`,
      );
      for (const metric of ['instance', 'vcpus'] as const) {
        const unit = UNITS[metric];
        const want = expected(c, metric);
        const items = usageItems.filter((it) => it.usageName === `openstack-usage-billing-${metric}`);
        const invoiced = items.reduce((s, it) => s.plus(it.amount), new Decimal(0));
        const held = rolled.rolledUpUnits
          .filter((u) => u.unitType === unit)
          .reduce((s, u) => s + u.amount, 0);
        const metered = c.metrics.includes(metric);
        figures.push(
          `${c.name.slice(4, 5)}/${metric}: invoice ${invoiced.toFixed(2)} (${items.length} item) vs CloudKitty ` +
            `${want.exact.toFixed(4)}${metered ? '' : ' (not metered)'} → ${(want.cents / 100).toFixed(2)}, ` +
            `diff ${invoiced.minus(want.cents / 100).toFixed(2)}, KB usage ${held}¢, float noise ${want.floatNoise.toExponential(0)}`,
        );
        expect(held, `${c.name} ${unit}: usage Kill Bill holds, in cents`).to.equal(want.cents);
        expect(invoiced.times(100).toNumber(), `${c.name} ${unit}: invoiced, in cents`).to.equal(want.cents);
        // The real server writes a USAGE item for every usage section of the plan: 0.00 for a unit not metered.
        if (!metered) expect(items.map((it) => it.amount)).to.deep.equal([0]);
      }
    }
    return { figures, trackingIds };
  }

  it('bills exactly CloudKitty’s rated total per account and unit, learnt from push notifications', async function () {
    this.timeout(5 * 60_000);
    const t0 = Date.now();
    const month = new Date('2025-02-01T00:00:00Z');
    const next = new Date('2025-03-01T00:00:00Z');
    const env = await setUp(month);

    // What the shim bridges: the bridge's own record, straight to Kill Bill 0.22.26, is refused.
    const probe = buildUsageRecord({
      subscriptionId: env.list[0]!.subscriptionId,
      span: { start: new Date('2025-01-01T00:00:00Z'), end: null },
      window: { start: new Date('2025-01-15T00:00:00Z'), end: new Date('2025-01-15T01:00:00Z') },
      windowSize: parseWindowSize('1h'),
      revision: 0,
      cents: { [UNITS.instance]: 1 },
    })!;
    const raw = await env.kb.recordUsage(probe).catch((e: unknown) => e);
    if (server.version.startsWith('0.22.')) {
      expect(raw).to.be.instanceOf(KillBillError).with.property('status', 400);
      expect(String(raw)).to.match(
        /Invalid format: "2025-01-15T00:00:00\.000Z" is malformed at "T00:00:00\.000Z"/,
      );
    }

    await seedRatedUsage(cloudkitty.url, seedScenario(month, env.list, 3, [49, 50, 51]));
    // This seed makes CloudKitty's float sums fall just short of A's exact x.xx50 instance total.
    expect(expected(env.list[0]!, 'instance').floatNoise.isNegative()).to.equal(true);
    const results = await env.stack.sync(month, next);
    expect(errorsOf(results), 'sync errors').to.deep.equal([]);
    expect(results.map((r) => r.subscriptionId).sort()).to.deep.equal(
      env.list.map((c) => c.subscriptionId).sort(),
    );

    const { figures } = await invoiceAndCheck(env.tenant, month, next, env.list);
    const proved = await expectReconciled(env.stack, day(month).slice(0, 7), wantOf(env.list, month, cents));
    console.log(
      `      [KB ${server.version}] 2 accounts, ${sum(results, 'records')} records sent ` +
        `(${env.rewritten()} recordDates cut to a date; the raw bridge record: ${raw instanceof Error ? raw.message.slice(0, 70) : 'accepted'}) | ` +
        `${figures.join(' | ')} | ${reconciledFigures(proved)} | ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  it('records every window exactly once through 500s and a dropped answer, and the invoice still matches', async function () {
    this.timeout(5 * 60_000);
    const t0 = Date.now();
    const month = new Date('2025-04-01T00:00:00Z');
    const next = new Date('2025-05-01T00:00:00Z');
    let proxy: FaultProxy | undefined;
    const env = await setUp(month, async (url) => {
      const p = (proxy = await FaultProxy.start(url));
      cleanups.push(() => p.close());
      return p.url;
    });
    await seedRatedUsage(cloudkitty.url, seedScenario(month, env.list, 17, [51, 49, 50]));

    const usagePosts = { method: 'POST', path: '/1.0/kb/usages' };
    proxy!.failNext(3, { kind: 'status', status: 500 }, usagePosts);
    proxy!.failNext(1, { kind: 'drop-after' }, usagePosts);
    const runs: SubscriptionSyncResult[][] = [];
    do runs.push(await env.stack.sync(month, next));
    while (errorsOf(runs.at(-1)!).length > 0 && runs.length < 8);
    expect(errorsOf(runs.at(-1)!), `sync still failing after ${runs.length} runs`).to.deep.equal([]);

    const posts = proxy!.seen(usagePosts);
    const outcomes = posts.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 500)).to.have.length(3);
    expect(outcomes.filter((o) => o === 'drop-after')).to.have.length(1);
    const records = sum(runs.flat(), 'records');
    const already = sum(runs.flat(), 'alreadyRecorded');
    expect(already, 'the dropped record, sent again, is answered "already recorded"').to.equal(1);
    const windows = new Set(posts.map((r) => (JSON.parse(r.body) as { trackingId: string }).trackingId));
    expect(records + already, 'windows recorded').to.equal(windows.size);

    const { figures, trackingIds } = await invoiceAndCheck(env.tenant, month, next, env.list);
    const proved = await expectReconciled(env.stack, day(month).slice(0, 7), wantOf(env.list, month, cents));
    // Kill Bill 0.22 lists the tracking ids an invoice billed: each window, once.
    if (trackingIds.length > 0) expect(trackingIds.sort()).to.deep.equal([...windows].sort());
    console.log(
      `      [KB ${server.version} + faults] 2 accounts, ${runs.length} sync runs, ${posts.length} POSTs ` +
        `(3×500, 1 drop-after) for ${windows.size} windows: ${records} recorded + ${already} already recorded; ` +
        `${trackingIds.length} tracking ids invoiced (${env.rewritten()} recordDates cut) | ` +
        `${figures.join(' | ')} | ${reconciledFigures(proved)} | ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
