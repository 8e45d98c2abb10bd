import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { reportJson, summarize } from '../../src/app/sync-command.js';
import type { SyncRunReport } from '../../src/sync/usage-sync.js';
import {
  markRated,
  seedRatedUsage,
  startCloudKitty,
  type CloudKittyInstance,
} from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  resetClock,
  startKillBill,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import {
  UNITS,
  day,
  exactTotal,
  kbGet,
  seedScenario,
  setUpTenant,
  type BridgeStack,
  type Customer,
  type Metric,
} from './real-killbill-stack.js';
import { expectReconciled, wantOf } from './reconcile-cli.js';

const HOUR = 3_600_000;
const USAGE_POSTS = { method: 'POST', path: '/1.0/kb/usages' };

/** Cents Kill Bill must hold for a customer's metric: CloudKitty's exact total, half-up (0 when not metered). */
function expectedCents(c: Customer, metric: keyof typeof UNITS): number {
  if (!c.metrics.includes(metric)) return 0;
  const exact = exactTotal(c.usage.filter((u) => u.metric === metric));
  return exact.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
}

/**
 * A project cloudkitty-processor has never processed has no scope state, and CloudKitty will later rate it back
 * to the start of the month: with the default `cloudkitty.scopeState = required` the bridge must record nothing
 * of it (and say so) until the state appears, then record all of it from the subscription's start. Real Kill
 * Bill, real CloudKitty; the scope states are written into CloudKitty's own database as the processor does.
 */
describe('real Kill Bill: a project CloudKitty has not rated yet (e2e)', function () {
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
    if (clockTenant) await resetClock(clockTenant, 30);
  });

  /** The idle gauge of one reason, as /metrics shows it after a whole run. */
  async function idleGauge(stack: BridgeStack, reason: string): Promise<number | undefined> {
    const family = await stack.runtime.metrics.registry
      .getSingleMetric('bridge_sync_idle_subscriptions')
      ?.get();
    return family?.values.find(
      (v) => v.labels.reason === reason && v.labels.tenant === stack.config.killbill.apiKey,
    )?.value;
  }

  /** What Kill Bill holds for a subscription over the month, in cents per unit. */
  async function held(tenant: KillBillTenant, c: Customer, month: Date, next: Date) {
    const rolled = await kbGet<{ rolledUpUnits: Array<{ unitType: string; amount: number }> }>(
      tenant,
      `/1.0/kb/usages/${c.subscriptionId}?startDate=${day(month)}&endDate=${day(next)}`,
    );
    const cents = (unit: string) =>
      rolled.rolledUpUnits.filter((u) => u.unitType === unit).reduce((s, u) => s + u.amount, 0);
    return { instance: cents(UNITS.instance), vcpus: cents(UNITS.vcpus) };
  }

  it('records nothing of it and says why, then all of it once CloudKitty has rated it', async function () {
    this.timeout(5 * 60_000);
    const month = new Date('2025-06-01T00:00:00Z');
    const next = new Date('2025-07-01T00:00:00Z');
    let proxy: FaultProxy | undefined;
    const env = await setUpTenant(
      server,
      { url: cloudkitty.url, scopeState: 'required' },
      month,
      cleanups,
      async (url) => {
        const p = (proxy = await FaultProxy.start(url));
        cleanups.push(() => p.close());
        return p.url;
      },
    );
    clockTenant = env.tenant;
    const [rated, unrated] = env.list as [Customer, Customer];
    await seedRatedUsage(cloudkitty.url, seedScenario(month, env.list, 5, [50, 49, 51]));
    for (const c of env.list) cleanups.push(async () => markRated(cloudkitty, c.projectId, null));
    // The processor has rated `rated` through the month; `unrated` it has never taken up.
    markRated(cloudkitty, rated.projectId, next);
    const now = new Date(next.getTime() + 24 * HOUR);
    const sync = () => env.stack.runtime.usageSync.runOnceReport({ mode: 'new', now });

    const first = await sync();
    expect(first.results.map((r) => [r.subscriptionId, r.error])).to.deep.equal([
      [rated.subscriptionId, undefined],
    ]);
    expect(first.idle.map((i) => [i.subscriptionId, i.reason])).to.deep.equal([
      [unrated.subscriptionId, 'notRatedYet'],
    ]);
    expectReported(first);
    expect(await idleGauge(env.stack, 'notRatedYet')).to.equal(1);
    expect(await held(env.tenant, unrated, month, next)).to.deep.equal({ instance: 0, vcpus: 0 });
    expect(await held(env.tenant, rated, month, next)).to.deep.equal({
      instance: expectedCents(rated, 'instance'),
      vcpus: expectedCents(rated, 'vcpus'),
    });
    const postsBefore = proxy!.seen(USAGE_POSTS).length;
    // Reconcile follows the sync's closing rule: the unrated project has no closed window yet, so CloudKitty's
    // column is 0 for it (not what is seeded), as is what Kill Bill holds; no false alarm.
    const pending = (c: Customer, m: Metric) => (c === unrated ? 0 : expectedCents(c, m));
    await expectReconciled(env.stack, '2025-06', wantOf(env.list, month, pending));

    // The processor reaches the project: it has rated it from the month start, all that was seeded.
    markRated(cloudkitty, unrated.projectId, next);
    const second = await sync();
    expect(second.results.map((r) => [r.subscriptionId, r.error])).to.deep.equal([
      [unrated.subscriptionId, undefined],
    ]);
    expect(second.idle.map((i) => [i.subscriptionId, i.reason])).to.deep.equal([
      [rated.subscriptionId, 'waitingForRating'],
    ]);
    expect(await idleGauge(env.stack, 'notRatedYet')).to.equal(0);
    expect(await held(env.tenant, unrated, month, next)).to.deep.equal({
      instance: expectedCents(unrated, 'instance'),
      vcpus: 0,
    });

    // Every window once: no tracking id sent twice, and the second run sent only the unrated project's windows,
    // starting at its first rated hour (the watermark stayed at the subscription's start).
    const posts = proxy!.seen(USAGE_POSTS).map((r) => JSON.parse(r.body) as Posted);
    const ids = posts.map((p) => p.trackingId);
    expect(new Set(ids).size, 'tracking ids sent').to.equal(ids.length);
    const late = posts.slice(postsBefore);
    expect(late.map((p) => p.subscriptionId)).to.deep.equal(late.map(() => unrated.subscriptionId));
    const records = (r: SyncRunReport) => r.results.reduce((s, x) => s + x.records + x.alreadyRecorded, 0);
    expect(late.length).to.equal(records(second));
    expect(posts.length).to.equal(records(first) + records(second));
    const firstHour = Math.min(...unrated.usage.map((u) => u.begin.getTime()));
    const earliest = Math.min(
      ...late.flatMap((p) => p.unitUsageRecords.flatMap((u) => u.usageRecords)).map(dateOf),
    );
    expect(new Date(earliest).toISOString().slice(0, 10)).to.equal(day(new Date(firstHour)));
    // Once rated, its whole month counts on both sides.
    await expectReconciled(env.stack, '2025-06', wantOf(env.list, month, expectedCents));
  });

  /** `bridge sync` text and `--json` name the reason and count it. */
  function expectReported(report: SyncRunReport) {
    expect(summarize(report)).to.include(
      '  1 subscription(s) not rated by CloudKitty yet (no scope state for their project: cloudkitty-processor has not processed it)',
    );
    expect(reportJson(report).idle.notRatedYet?.count).to.equal(1);
  }
});

interface Posted {
  subscriptionId: string;
  trackingId: string;
  unitUsageRecords: Array<{ unitType: string; usageRecords: Array<{ recordDate: string; amount: number }> }>;
}

/** A record date, a date-time or (as Kill Bill 0.22 takes it, through the shim) a plain date. */
const dateOf = (r: { recordDate: string }) => new Date(r.recordDate).getTime();
