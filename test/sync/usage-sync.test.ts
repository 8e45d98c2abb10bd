import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { CloudKittyClient } from '../../src/clients/openstack/index.js';
import { billingPeriodContaining } from '../../src/metering/index.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { cycleOfEntry } from '../../src/sync/metered-entry.js';
import { chunkHours, rowsPerChunk } from '../../src/sync/rated-usage-pull.js';
import type { SubscriptionSyncResult } from '../../src/sync/subscription-sync.js';
import { MeteringStack, METRIC_UNITS } from '../support/metering-stack.js';
import { seedRatedUsage } from '../support/cloudkitty.js';
import { freePort } from '../support/wait.js';

const HOUR = 3_600_000;
const P1 = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const P2 = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** 48 hours of rated usage for both projects and both metrics, with prices that do not fall on cents. */
function seedHours(start: number, hours: number, bump = 0): RatedUsage[] {
  const usage: RatedUsage[] = [];
  for (let h = 0; h < hours; h++) {
    const begin = new Date(start + h * HOUR);
    for (const [i, projectId] of [P1, P2].entries()) {
      const inst = new Decimal(((h * 37 + i * 11) % 90) + 5).div(1000).plus(bump);
      const vcpu = new Decimal(((h * 13 + i * 7) % 40) + 1).div(1000);
      usage.push({ begin, projectId, metric: 'instance', price: inst.toString() });
      usage.push({ begin, projectId, metric: 'vcpus', price: vcpu.toString(), qty: '2' });
    }
  }
  return usage;
}

describe('usage sync: CloudKitty rated usage into Kill Bill', function () {
  this.timeout(120_000);
  let stack: MeteringStack;
  let subs: Array<{ accountId: string; subscriptionId: string; projectId: string }>;
  const now = new Date();
  const seedStart = Math.floor(now.getTime() / HOUR) * HOUR - 51 * HOUR;
  const seedEnd = seedStart + 48 * HOUR;

  before(async function () {
    this.timeout(10 * 60_000); // the shared Kill Bill may have to start first
    stack = await MeteringStack.start();
    await stack.cloudkitty.reset();
    await seedRatedUsage(stack.cloudkitty.url, seedHours(seedStart, 48));
    const day = new Date(seedStart - 24 * HOUR).toISOString().slice(0, 10);
    subs = [];
    for (const [name, projectId] of [
      ['acme', P1],
      ['globex', P2],
    ] as const) {
      subs.push({ ...(await stack.meteredAccount(name, projectId, day)), projectId });
    }
    await stack.reconcile();
  });
  after(async () => {
    await stack?.close();
  });

  /**
   * Σ recorded in Kill Bill vs CloudKitty's Σ rate rounded once, per subscription, billing period and unit.
   * CloudKitty's rate per hour is summed in decimal: its own float sum over a whole range can land just under a
   * half cent (3.5949999… for 3.595) and round the other way.
   */
  async function differences(
    until = seedEnd,
  ): Promise<Array<{ sub: string; unit: string; recorded: number; expected: number }>> {
    const ck = new CloudKittyClient({ url: stack.cloudkitty.url });
    const out = [];
    for (const s of subs) {
      const entry = (await stack.registry.entry(stack.apiKey, s.subscriptionId))!;
      const cycle = cycleOfEntry(entry, 'FIXED');
      for (let t = seedStart; t < until;) {
        const period = billingPeriodContaining(new Date(t), cycle);
        const begin = new Date(t);
        const end = new Date(Math.min(period.end.getTime(), until));
        const usage = await stack.kb.getUsage(
          s.subscriptionId,
          period.start.toISOString(),
          period.end.toISOString(),
        );
        const rows = await ck.summary({
          begin,
          end,
          groupby: ['time', 'project_id', 'type'],
          filters: { project_id: [s.projectId] },
        });
        for (const [type, unit] of Object.entries(METRIC_UNITS)) {
          const rate = rows
            .filter((r) => r.type === type)
            .reduce((a, r) => a.plus(r.rate ?? 0), new Decimal(0));
          const expected = rate.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
          const recorded = Number(usage.rolledUpUnits?.find((u) => u.unitType === unit)?.amount ?? 0);
          out.push({ sub: s.subscriptionId, unit, recorded, expected });
        }
        t = end.getTime();
      }
    }
    return out;
  }

  it('records two projects × both metrics × 48 hourly windows, each period exact to the cent', async () => {
    stack.requests = [];
    const sync = stack.usageSync({ pageSize: 50 });
    const results = await sync.runOnce({ mode: 'new', now });
    expect(results.map((r) => r.error)).to.deep.equal([undefined, undefined]);
    expect(results.reduce((a, r) => a + r.records, 0)).to.be.greaterThan(60);
    const diffs = await differences();
    expect(diffs.filter((d) => d.expected > 0)).to.have.length(4);
    for (const d of diffs) expect(d.recorded, `${d.sub} ${d.unit}`).to.equal(d.expected);
    // One pull for everyone, not one per project, in time chunks of about a page: no request pages
    // (CloudKitty would rebuild the whole result for each page). The 4 series (the 2 metered projects ×
    // 2 types, known without asking CloudKitty) make a row each per hour; the chunks and the two fingerprints
    // around them (proving nothing was rated meanwhile) take no more requests than the rows fill pages.
    const { begin, end, metricTypes } = sync.lastPull!;
    const all = await new CloudKittyClient({ url: stack.cloudkitty.url, pageSize: 100_000 }).summary({
      begin,
      end,
      groupby: ['time', 'project_id', 'type'],
      filters: { type: metricTypes },
    });
    expect(all.length).to.be.at.least(2 * 2 * 48);
    const summaries = stack.requests.filter((r) => r.url.includes('/v2/summary'));
    expect(summaries.filter((r) => !new URL(r.url).searchParams.get('offset')?.match(/^0?$/))).to.deep.equal(
      [],
    );
    const hours = (end.getTime() - begin.getTime()) / HOUR;
    expect(all.length).to.equal(4 * hours);
    // Chunks as the pull plans them: the hours split evenly into chunks of about a page, a little more at need.
    const target = rowsPerChunk(50, all.length, 2);
    let chunks = 0;
    for (let left = hours; left > 0; chunks++) left -= chunkHours(left, 4, target);
    expect(summaries.length).to.equal(2 + chunks);
    expect(summaries.length).to.be.at.most(Math.ceil(all.length / 50));
  });

  it('a second run records nothing new', async () => {
    const results = await stack.usageSync().runOnce({ mode: 'recheck', now });
    expect(results.reduce((a, r) => a + r.records + r.corrections + r.alreadyRecorded, 0)).to.equal(0);
    for (const d of await differences()) expect(d.recorded).to.equal(d.expected);
  });

  it('does not record a window that is not closed yet', async () => {
    // An hour that ended 30 minutes ago is inside the 2-hour settle delay.
    const fresh = Math.floor(now.getTime() / HOUR) * HOUR - HOUR;
    await seedRatedUsage(stack.cloudkitty.url, [
      { begin: new Date(fresh), projectId: P1, metric: 'instance', price: '7' },
    ]);
    const results = await stack.usageSync().runOnce({ mode: 'new', now });
    expect(results.reduce((a, r) => a + r.records, 0)).to.equal(0);
    const wm = await stack.ledger.watermark(stack.apiKey, subs[0]!.subscriptionId);
    expect(new Date(wm!).getTime()).to.be.at.most(now.getTime() - 2 * HOUR);
  });

  it('a re-rated window produces exactly one correction, and the period stays exact', async () => {
    const hour = seedStart + 10 * HOUR;
    await seedRatedUsage(stack.cloudkitty.url, [
      { begin: new Date(hour), projectId: P1, metric: 'instance', price: '1.234' },
    ]);
    const results = await stack.usageSync().runOnce({ mode: 'recheck', now });
    const forP1 = results.find((r) => r.subscriptionId === subs[0]!.subscriptionId)!;
    expect(forP1).to.deep.include({ records: 1, corrections: 1 });
    expect(results.find((r) => r.subscriptionId === subs[1]!.subscriptionId)).to.deep.include({
      records: 0,
      corrections: 0,
    });
    for (const d of await differences()) expect(d.recorded).to.equal(d.expected);
  });

  it('CloudKitty down: nothing recorded, watermark unchanged; recorded once it is back', async () => {
    const later = new Date(now.getTime() + 3 * HOUR);
    const hour = seedEnd + 2 * HOUR;
    await seedRatedUsage(stack.cloudkitty.url, [
      { begin: new Date(hour), projectId: P2, metric: 'instance', price: '0.333' },
    ]);
    const before = await stack.ledger.watermark(stack.apiKey, subs[1]!.subscriptionId);
    const down = `http://127.0.0.1:${await freePort()}`;
    let failure: unknown;
    await stack
      .usageSync({ cloudkittyUrl: down })
      .runOnce({ mode: 'new', now: later })
      .catch((e) => (failure = e));
    expect(String(failure)).to.match(/127\.0\.0\.1/);
    expect(await stack.ledger.watermark(stack.apiKey, subs[1]!.subscriptionId)).to.equal(before);
    const results = await stack.usageSync().runOnce({ mode: 'new', now: later });
    expect(results.find((r) => r.subscriptionId === subs[1]!.subscriptionId)!.records).to.equal(1);
    // 0.333 on top of the period's running total: 33 or 34 cents, whichever keeps the period exact.
    for (const d of await differences(hour + HOUR)) expect(d.recorded).to.equal(d.expected);
  });

  it('Kill Bill answering 500: retried, recorded once', async () => {
    const later = new Date(now.getTime() + 5 * HOUR);
    const hour = seedEnd + 4 * HOUR;
    await seedRatedUsage(stack.cloudkitty.url, [
      { begin: new Date(hour), projectId: P1, metric: 'vcpus', price: '0.5' },
    ]);
    stack.killbill.failNext(1, { kind: 'status', status: 500 }, { method: 'POST', path: '/1.0/kb/usages' });
    const first = await stack.usageSync().runOnce({ mode: 'new', now: later });
    const mine = (rs: SubscriptionSyncResult[]) =>
      rs.find((r) => r.subscriptionId === subs[0]!.subscriptionId)!;
    expect(mine(first).error).to.match(/500/);
    const second = await stack.usageSync().runOnce({ mode: 'new', now: later });
    expect(mine(second)).to.deep.include({ records: 1, alreadyRecorded: 0 });
    const third = await stack.usageSync().runOnce({ mode: 'recheck', now: later });
    expect(third.reduce((a, r) => a + r.records + r.corrections, 0)).to.equal(0);
    for (const d of await differences(hour + HOUR)) expect(d.recorded).to.equal(d.expected);
  });

  it('the next hour of every project is one request to CloudKitty', async () => {
    const later = new Date(now.getTime() + 6 * HOUR);
    const hour = seedEnd + 6 * HOUR; // the one hour closed since the run above
    await seedRatedUsage(stack.cloudkitty.url, [
      { begin: new Date(hour), projectId: P1, metric: 'instance', price: '0.25' },
      { begin: new Date(hour), projectId: P2, metric: 'vcpus', price: '0.75' },
    ]);
    stack.requests = [];
    const sync = stack.usageSync();
    const results = await sync.runOnce({ mode: 'new', now: later });
    expect(results.reduce((a, r) => a + r.records, 0)).to.equal(2);
    expect(sync.lastPull!.end.getTime() - sync.lastPull!.begin.getTime()).to.equal(HOUR);
    expect(stack.requests.filter((r) => r.url.includes('/v2/summary'))).to.have.length(1);
    for (const d of await differences(hour + HOUR)) expect(d.recorded).to.equal(d.expected);
  });

  it('an hour holding more rows than a page is still one request, asked large enough for every metered project', async () => {
    const later = new Date(now.getTime() + 7 * HOUR);
    const hour = seedEnd + 7 * HOUR; // the one hour closed since the run above
    await seedRatedUsage(stack.cloudkitty.url, seedHours(hour, 1, 1));
    stack.requests = [];
    // 2 projects × 2 metric types = 4 rows, over a page of 3: asked with a limit of 4, not paged.
    const sync = stack.usageSync({ pageSize: 3 });
    const results = await sync.runOnce({ mode: 'new', now: later });
    expect(
      results.reduce((a, r) => a + r.records, 0),
      JSON.stringify(results),
    ).to.equal(2);
    const summaries = stack.requests.filter((r) => r.url.includes('/v2/summary'));
    const asked = summaries.map((r) => new URL(r.url).searchParams);
    expect(asked.map((p) => [p.get('limit'), p.get('offset')])).to.deep.equal([['4', '0']]);
    for (const d of await differences(hour + HOUR)) expect(d.recorded).to.equal(d.expected);
  });
});
