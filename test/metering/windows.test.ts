import { expect } from 'chai';
import {
  billingPeriodContaining,
  DAY_MS,
  HOUR_MS,
  InvalidWindowSizeError,
  alignWindowStart,
  billingWindowsBetween,
  parseWindowSize,
  splitWindowAtBoundaries,
  windowsBetween,
  type BillingCycle,
  type UsageWindow,
} from '../../src/metering/index.js';

const iso = (s: string) => new Date(s);
const show = (ws: UsageWindow[]) => ws.map((w) => `${w.start.toISOString()}/${w.end.toISOString()}`);

describe('metering: window sizes and alignment', () => {
  it('parses short, ISO-8601 and millisecond sizes into a canonical label', () => {
    expect(parseWindowSize('1h')).to.deep.equal({ ms: HOUR_MS, label: '1h' });
    expect(parseWindowSize('60m')).to.deep.equal({ ms: HOUR_MS, label: '1h' });
    expect(parseWindowSize('PT1H')).to.deep.equal({ ms: HOUR_MS, label: '1h' });
    expect(parseWindowSize('P1D')).to.deep.equal({ ms: DAY_MS, label: '1d' });
    expect(parseWindowSize('1d').label).to.equal('1d');
    expect(parseWindowSize('PT15M')).to.deep.equal({ ms: 15 * 60_000, label: '15m' });
    expect(parseWindowSize(2 * HOUR_MS).label).to.equal('2h');
  });

  it('rejects sizes that are not whole minutes or do not divide a day', () => {
    for (const bad of ['7h', '2d', '0h', 'PT', 'hourly', '90s', 1500, -HOUR_MS, 0]) {
      expect(() => parseWindowSize(bad), String(bad)).to.throw(InvalidWindowSizeError);
    }
  });

  it('aligns to multiples of the size since the Unix epoch (UTC)', () => {
    const h = parseWindowSize('1h');
    expect(alignWindowStart(iso('2024-03-10T07:59:59.999Z'), h).toISOString()).to.equal(
      '2024-03-10T07:00:00.000Z',
    );
    expect(alignWindowStart(iso('2024-03-10T07:00:00Z'), h).toISOString()).to.equal(
      '2024-03-10T07:00:00.000Z',
    );
    expect(alignWindowStart(iso('2024-03-10T07:30:00Z'), parseWindowSize('1d')).toISOString()).to.equal(
      '2024-03-10T00:00:00.000Z',
    );
    expect(alignWindowStart(iso('1969-12-31T23:30:00Z'), h).toISOString()).to.equal(
      '1969-12-31T23:00:00.000Z',
    );
  });

  it('lists half-open windows intersecting a range without clipping them', () => {
    const ws = windowsBetween(
      iso('2024-01-01T00:30:00Z'),
      iso('2024-01-01T02:00:00Z'),
      parseWindowSize('1h'),
    );
    expect(show(ws)).to.deep.equal([
      '2024-01-01T00:00:00.000Z/2024-01-01T01:00:00.000Z',
      '2024-01-01T01:00:00.000Z/2024-01-01T02:00:00.000Z',
    ]);
  });

  it('splits a window at a boundary strictly inside it, and only there', () => {
    const w = { start: iso('2024-01-01T00:00:00Z'), end: iso('2024-01-01T01:00:00Z') };
    expect(
      show(splitWindowAtBoundaries(w, [iso('2024-01-01T00:45:00Z'), iso('2024-01-01T01:00:00Z')])),
    ).to.deep.equal([
      '2024-01-01T00:00:00.000Z/2024-01-01T00:45:00.000Z',
      '2024-01-01T00:45:00.000Z/2024-01-01T01:00:00.000Z',
    ]);
    expect(splitWindowAtBoundaries(w, [iso('2024-01-01T00:00:00Z')])).to.have.length(1);
  });
});

describe('metering: windows never straddle a billing-period boundary', () => {
  const hour = parseWindowSize('1h');
  const day = parseWindowSize('1d');

  it('BCD 31 in February (UTC): the boundary is the 29th in a leap year, the 28th otherwise', () => {
    const cycle: BillingCycle = { billCycleDay: 31, timeZone: 'UTC' };
    const ws = billingWindowsBetween(iso('2024-02-28T23:00:00Z'), iso('2024-02-29T01:00:00Z'), hour, cycle);
    expect(ws.map((w) => billingPeriodContaining(w.start, cycle).start.toISOString())).to.deep.equal([
      '2024-01-31T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
    ]);
    const days = billingWindowsBetween(iso('2023-02-27T00:00:00Z'), iso('2023-03-01T00:00:00Z'), day, cycle);
    expect(days.map((w) => billingPeriodContaining(w.start, cycle).end.toISOString())).to.deep.equal([
      '2023-02-28T00:00:00.000Z',
      '2023-03-31T00:00:00.000Z',
    ]);
  });

  it('splits an hour at a half-hour zone boundary (Asia/Kolkata, +05:30)', () => {
    const cycle: BillingCycle = { billCycleDay: 1, timeZone: 'Asia/Kolkata' };
    const ws = billingWindowsBetween(iso('2024-02-29T18:00:00Z'), iso('2024-02-29T19:00:00Z'), hour, cycle);
    expect(show(ws)).to.deep.equal([
      '2024-02-29T18:00:00.000Z/2024-02-29T18:30:00.000Z',
      '2024-02-29T18:30:00.000Z/2024-02-29T19:00:00.000Z',
    ]);
    expect(billingPeriodContaining(ws[0]!.start, cycle).end.toISOString()).to.equal(
      '2024-02-29T18:30:00.000Z',
    );
    expect(billingPeriodContaining(ws[1]!.start, cycle).start.toISOString()).to.equal(
      '2024-02-29T18:30:00.000Z',
    );
  });

  it('splits the same way even when the range starts after the boundary inside the cell', () => {
    const cycle: BillingCycle = { billCycleDay: 1, timeZone: 'Asia/Kolkata' };
    const ws = billingWindowsBetween(iso('2024-02-29T18:40:00Z'), iso('2024-02-29T19:00:00Z'), hour, cycle);
    expect(show(ws)).to.deep.equal(['2024-02-29T18:30:00.000Z/2024-02-29T19:00:00.000Z']);
  });

  it('splits a one-day window at a New York boundary, before and after a DST change', () => {
    const cycle: BillingCycle = { billCycleDay: 1, timeZone: 'America/New_York' };
    // 1 March: EST (-5) -> boundary at 05:00Z; 1 April: EDT (-4) -> boundary at 04:00Z.
    const march = billingWindowsBetween(iso('2024-03-01T00:00:00Z'), iso('2024-03-01T12:00:00Z'), day, cycle);
    expect(show(march)).to.deep.equal([
      '2024-03-01T00:00:00.000Z/2024-03-01T05:00:00.000Z',
      '2024-03-01T05:00:00.000Z/2024-03-02T00:00:00.000Z',
    ]);
    const april = billingWindowsBetween(iso('2024-04-01T00:00:00Z'), iso('2024-04-01T12:00:00Z'), day, cycle);
    expect(show(april)).to.deep.equal([
      '2024-04-01T00:00:00.000Z/2024-04-01T04:00:00.000Z',
      '2024-04-01T04:00:00.000Z/2024-04-02T00:00:00.000Z',
    ]);
  });

  it('hourly windows across a month cover the time line exactly (no gap, no overlap)', () => {
    const cycle: BillingCycle = { billCycleDay: 10, timeZone: 'Europe/London' };
    const from = iso('2024-03-01T00:00:00Z');
    const to = iso('2024-04-15T00:00:00Z');
    const ws = billingWindowsBetween(from, to, hour, cycle);
    expect(ws[0]?.start.toISOString()).to.equal(from.toISOString());
    expect(ws[ws.length - 1]?.end.toISOString()).to.equal(to.toISOString());
    for (let i = 1; i < ws.length; i++) {
      expect((ws[i] as UsageWindow).start.getTime()).to.equal((ws[i - 1] as UsageWindow).end.getTime());
    }
    for (const w of ws) {
      const p = billingPeriodContaining(w.start, cycle);
      expect(w.end.getTime()).to.be.at.most(p.end.getTime());
    }
  });
});
