import { expect } from 'chai';
import type { UsageTzMode } from '../../src/metering/index.js';
import { startCloudKitty, seedRatedUsage, type CloudKittyInstance } from '../support/cloudkitty.js';
import {
  getClock,
  moveClockDays,
  resetClock,
  startKillBill,
  waitForQueues,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import {
  bridgeCentsPerHour,
  centsBetween,
  createZonedCustomer,
  usageItemsThrough,
  killBillDayStart,
  postDatedUsage,
  putSubscriptionBcd,
  registryShows,
  startZonedBridge,
  type UsageItem,
  type ZonedCustomer,
} from './zoned-customers.js';
import { UNITS } from './real-killbill-stack.js';
import { expectReconciled, lineKey, reconciledFigures } from './reconcile-cli.js';

const HOUR = 3_600_000;
const cents = (amount: number) => Math.round(amount * 100);

/** Hourly instance prices (4 decimals) from `first` (ISO hour, UTC) on, one point an hour. */
function hours(c: ZonedCustomer, first: string, prices: string[]): void {
  prices.forEach((price, i) => {
    const begin = new Date(Date.parse(first) + i * HOUR);
    c.usage.push({
      begin,
      projectId: c.projectId,
      metric: 'instance',
      price,
      resourceId: `${c.projectId}-vm`,
    });
  });
}

/**
 * Around each boundary: hours before every candidate cut add up to x.5¢, the hours between midnight UTC and
 * the local midnight (FIXED or VARIABLE) to 0.4¢, and those after both to 0.1¢, so that a bridge cutting
 * anywhere but where Kill Bill does rounds a cent into the wrong period.
 */
const BEFORE = ['0.0040', '0.0035', '0.0040', '0.0035'];

/**
 * Usage periods as the REAL Kill Bill cuts them (0.22.26 here), for accounts in America/New_York (created in
 * winter, −05:00) and Asia/Kolkata (+05:30), across New York's DST change and month ends, and for a
 * subscription whose own bill-cycle day is 15: every invoice's usage item must be CloudKitty's exact total,
 * half-up to the cent, for exactly the hours Kill Bill puts in that item's period.
 */
describe('real Kill Bill: usage periods across time zones, DST and a subscription BCD (e2e)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  const cleanups: Array<() => Promise<void>> = [];
  let tenant: KillBillTenant | undefined;

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load, a first download minutes
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
    if (tenant) await resetClock(tenant, 30);
  });

  it('each invoice carries exactly the usage of the hours Kill Bill puts in its period, to the cent', async function () {
    this.timeout(6 * 60_000);
    const t0 = Date.now();
    // Noon UTC is the same calendar day in New York and Kolkata, so each clock step lands on one local date.
    const env = await startZonedBridge(server, cloudkitty.url, new Date('2024-03-01T12:00:00Z'), cleanups);
    tenant = env.tenant;
    const start = '2024-03-01';
    const ny = await createZonedCustomer(env, {
      tag: 'ny',
      timeZone: 'America/New_York',
      start,
      metered: true,
    });
    const kol = await createZonedCustomer(env, {
      tag: 'kol',
      timeZone: 'Asia/Kolkata',
      start,
      metered: true,
    });
    const ny15 = await createZonedCustomer(env, {
      tag: 'ny15',
      timeZone: 'America/New_York',
      start,
      metered: true,
    });
    // Its own bill-cycle day. Kill Bill 0.22 cuts its usage at 15 March at once, but its subscription JSON
    // (so the SUBSCRIPTION_BCD_CHANGE re-read) shows 15 only from that day: usage comes after it here.
    await putSubscriptionBcd(env.tenant, ny15.subscriptionId, 15);
    // Kill Bill's reference time is its clock at creation: winter, so New York's fixed offset is −05:00.
    expect(ny.referenceTime?.slice(0, 10)).to.equal(start);

    // New York: the DST night (02:00 local → 03:00 at 07:00Z), then the month end, where midnight UTC,
    // local midnight with DST (04:00Z) and at the fixed −05:00 (05:00Z) are three different cuts.
    hours(ny, '2024-03-10T04:00:00Z', Array(6).fill('0.0100'));
    hours(ny, '2024-03-31T20:00:00Z', [...BEFORE, '0.0011', '0.0011', '0.0011', '0.0011', '0.0011']);
    hours(ny, '2024-04-01T05:00:00Z', ['0.0002', '0.0003', '0.0002']);
    hours(ny, '2024-04-10T10:00:00Z', ['0.0100', '0.0100', '0.0100']);
    // Kolkata: local April starts at 18:30Z, inside an hour the bridge splits when it cuts there.
    hours(kol, '2024-03-31T15:00:00Z', [...BEFORE, '0.0008', '0.0008', '0.0008', '0.0008', '0.0008']);
    hours(kol, '2024-04-01T00:00:00Z', ['0.0003', '0.0004', '0.0003']);
    hours(kol, '2024-04-12T06:00:00Z', ['0.0100', '0.0100', '0.0100']);
    // Its own BCD 15, after the DST change: 15 April at 00:00Z, 04:00Z or 05:00Z.
    hours(ny15, '2024-03-20T10:00:00Z', Array(6).fill('0.0100'));
    hours(ny15, '2024-04-14T20:00:00Z', [...BEFORE, '0.0011', '0.0011', '0.0011', '0.0011', '0.0011']);
    hours(ny15, '2024-04-15T05:00:00Z', ['0.0002', '0.0003', '0.0002']);
    const metered = [ny, kol, ny15];
    // Past 15 March: Kill Bill invoices ny15's first, empty, period and now shows its bill-cycle day.
    await moveClockDays(env.tenant, 15, 60);
    await waitForQueues(env.tenant, 60);
    ny15.billCycleDay = (await registryShows(env.stack, ny15, 15)).billCycleDay;
    await seedRatedUsage(
      cloudkitty.url,
      metered.flatMap((c) => c.usage),
    );

    // The probe, 0.22 only: usage there is a plain date, and which period a date lands in does not depend on
    // the account's zone (a date-time is refused: the model test shows the exact answer).
    const probes = server.version.startsWith('0.22.')
      ? [
          await createZonedCustomer(env, {
            tag: 'p-ny',
            timeZone: 'America/New_York',
            start,
            metered: false,
          }),
          await createZonedCustomer(env, { tag: 'p-kol', timeZone: 'Asia/Kolkata', start, metered: false }),
        ]
      : [];
    for (const p of probes) {
      expect(await postDatedUsage(env.tenant, p.subscriptionId, '2024-03-31', 1)).to.equal(201);
      expect(await postDatedUsage(env.tenant, p.subscriptionId, '2024-04-01', 2)).to.equal(201);
      expect(await postDatedUsage(env.tenant, p.subscriptionId, '2024-04-01T00:00:00Z', 4)).to.equal(400);
    }

    // Recorded month by month, each sync as of a day after its month (within the late-usage horizon).
    for (const [from, to] of [
      ['2024-03-01', '2024-04-01'],
      ['2024-04-01', '2024-05-01'],
    ] as const) {
      const results = await env.stack.sync(new Date(from), new Date(to));
      expect(results.filter((r) => r.error).map((r) => r.error)).to.deep.equal([]);
    }

    // One invoice per period: step Kill Bill's clock past each period end in turn.
    const schedule: Array<[ZonedCustomer, string[]]> = [
      [ny, ['2024-03-01', '2024-04-01', '2024-05-01']],
      [kol, ['2024-03-01', '2024-04-01', '2024-05-01']],
      [ny15, ['2024-03-01', '2024-03-15', '2024-04-15', '2024-05-15']],
      ...probes.map((p): [ZonedCustomer, string[]] => [p, ['2024-03-01', '2024-04-01', '2024-05-01']]),
    ];
    const items = new Map<ZonedCustomer, UsageItem[]>();
    for (const step of ['2024-04-02', '2024-04-16', '2024-05-02', '2024-05-16']) {
      const now = Date.parse((await getClock(env.tenant)).currentUtcTime);
      await moveClockDays(env.tenant, Math.round((Date.parse(`${step}T12:00:00Z`) - now) / 86_400_000), 60);
      await waitForQueues(env.tenant, 60);
      for (const [c, bounds] of schedule) {
        const due = bounds.slice(1).filter((b) => b < step);
        if (due.length > 0) items.set(c, await usageItemsThrough(env.tenant, c, due.at(-1)!));
      }
    }

    const figures: string[] = [];
    /** The cents each item must carry, by the reconcile line of its period. */
    const itemCents = new Map<string, number>();
    const wouldBe = new Map<UsageTzMode, number>();
    for (const [c, bounds] of schedule) {
      const got = items.get(c)!;
      const periods = bounds.slice(0, -1).map((b, i) => [b, bounds[i + 1]]);
      expect(
        got.map((it) => [it.startDate, it.endDate]),
        `${c.name}: one item per period`,
      ).to.deep.equal(periods);
      for (const it of got) {
        const from = killBillDayStart(server.version, it.startDate, c);
        const to = killBillDayStart(server.version, it.endDate, c);
        const want = c.usage.length > 0 || c === ny15 ? centsBetween(c.usage, from, to) : null;
        figures.push(`${c.name.slice(4, -9)} ${it.startDate}→${it.endDate}: ${it.amount.toFixed(2)}`);
        if (want === null) continue;
        itemCents.set(lineKey(c.subscriptionId, UNITS.instance, new Date(from)), want);
        expect(cents(it.amount), `${c.name} ${it.startDate}→${it.endDate}, in cents`).to.equal(want);
        // What a bridge cutting elsewhere would have made Kill Bill invoice here.
        for (const mode of ['FIXED', 'VARIABLE', 'UTC'] as const) {
          const perHour = bridgeCentsPerHour(c, mode);
          const sum = [...perHour].filter(([h]) => h >= from && h < to).reduce((s, [, n]) => s + n, 0);
          if (sum !== want) wouldBe.set(mode, (wouldBe.get(mode) ?? 0) + 1);
        }
      }
    }
    if (server.version.startsWith('0.22.')) {
      // Dates land on the period containing them in every zone: 31 March in March, 1 April in April.
      for (const p of probes) expect(items.get(p)!.map((it) => cents(it.amount))).to.deep.equal([1, 2]);
      // The data can tell the modes apart: a bridge in FIXED or VARIABLE would have missed cents here.
      expect(wouldBe.get('FIXED') ?? 0, 'items FIXED would get wrong').to.be.greaterThan(0);
      expect(wouldBe.get('VARIABLE') ?? 0, 'items VARIABLE would get wrong').to.be.greaterThan(0);
    }
    expect(wouldBe.get(env.mode) ?? 0, `items the bridge's own mode ${env.mode} gets wrong`).to.equal(0);

    // `bridge reconcile --period` takes, per subscription, the period STARTING in that month: ny15's March is
    // 15 March → 15 April (its stub from 1 March is the period of its former bill-cycle day).
    const proofs: string[] = [];
    for (const [period, starts] of [
      [
        '2024-03',
        [
          [ny, '2024-03-01'],
          [kol, '2024-03-01'],
          [ny15, '2024-03-15'],
        ],
      ],
      [
        '2024-04',
        [
          [ny, '2024-04-01'],
          [kol, '2024-04-01'],
          [ny15, '2024-04-15'],
        ],
      ],
    ] as const) {
      const want = Object.fromEntries(
        starts.map(([c, date]) => {
          const key = lineKey(
            c.subscriptionId,
            UNITS.instance,
            new Date(killBillDayStart(server.version, date, c)),
          );
          return [key, itemCents.get(key)!];
        }),
      );
      proofs.push(reconciledFigures(await expectReconciled(env.stack, period, want)));
    }
    console.log(
      `      [KB ${server.version}, bridge ${env.mode}] ${figures.join(' | ')} | wrong under other modes: ` +
        `${[...wouldBe].map(([m, n]) => `${m} ${n}`).join(', ')} | ${proofs.join(' | ')} | ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});
