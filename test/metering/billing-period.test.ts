import { expect } from 'chai';
import {
  InvalidBillingCycleError,
  billingPeriodBoundariesBetween,
  billingPeriodContaining,
  billingPeriodRelativeTo,
  isWithinLateUsageHorizon,
  startOfLocalDay,
  type BillingCycle,
} from '../../src/metering/index.js';

const iso = (s: string) => new Date(s);
const period = (at: string, cycle: BillingCycle) => {
  const p = billingPeriodContaining(iso(at), cycle);
  return [p.start.toISOString(), p.end.toISOString()];
};

describe('metering: billing periods', () => {
  it('UTC, BCD 15: [15th 00:00, next 15th 00:00), the start instant included', () => {
    const c = { billCycleDay: 15, timeZone: 'UTC' };
    expect(period('2024-01-15T00:00:00Z', c)).to.deep.equal([
      '2024-01-15T00:00:00.000Z',
      '2024-02-15T00:00:00.000Z',
    ]);
    expect(period('2024-01-14T23:59:59.999Z', c)).to.deep.equal([
      '2023-12-15T00:00:00.000Z',
      '2024-01-15T00:00:00.000Z',
    ]);
  });

  it('BCD 31 uses the last day of shorter months (February, April)', () => {
    const c = { billCycleDay: 31, timeZone: 'UTC' };
    expect(period('2024-02-15T00:00:00Z', c)).to.deep.equal([
      '2024-01-31T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
    ]);
    expect(period('2024-03-01T00:00:00Z', c)).to.deep.equal([
      '2024-02-29T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z',
    ]);
    expect(period('2023-02-28T12:00:00Z', c)).to.deep.equal([
      '2023-02-28T00:00:00.000Z',
      '2023-03-31T00:00:00.000Z',
    ]);
    expect(period('2024-04-30T12:00:00Z', c)).to.deep.equal([
      '2024-04-30T00:00:00.000Z',
      '2024-05-31T00:00:00.000Z',
    ]);
  });

  it('starts at local midnight in the account zone, following DST (VARIABLE)', () => {
    const ny = { billCycleDay: 1, timeZone: 'America/New_York' };
    expect(period('2024-03-15T00:00:00Z', ny)).to.deep.equal([
      '2024-03-01T05:00:00.000Z',
      '2024-04-01T04:00:00.000Z',
    ]);
    const london = { billCycleDay: 1, timeZone: 'Europe/London' };
    expect(period('2024-04-01T00:30:00Z', london)).to.deep.equal([
      '2024-03-31T23:00:00.000Z',
      '2024-04-30T23:00:00.000Z',
    ]);
    // 23:30Z on 31 March is already April in London (BST).
    expect(period('2024-03-31T23:30:00Z', london)[0]).to.equal('2024-03-31T23:00:00.000Z');
  });

  it('FIXED mode (Kill Bill default) keeps the offset of the account referenceTime all year', () => {
    const winterAccount = {
      billCycleDay: 1,
      timeZone: 'America/New_York',
      tzMode: 'FIXED' as const,
      referenceTime: iso('2024-01-10T15:00:00Z'),
    };
    expect(period('2024-03-15T00:00:00Z', winterAccount)).to.deep.equal([
      '2024-03-01T05:00:00.000Z',
      '2024-04-01T05:00:00.000Z',
    ]);
    expect(() =>
      billingPeriodContaining(iso('2024-03-15T00:00:00Z'), { ...winterAccount, referenceTime: undefined }),
    ).to.throw(InvalidBillingCycleError);
  });

  it('a local midnight skipped by DST starts the day at the post-jump offset (America/Santiago)', () => {
    // Chile moves 00:00 -> 01:00 on 2024-09-08; Kill Bill uses the offset at the start of day (-3).
    expect(
      new Date(startOfLocalDay('America/Santiago', { year: 2024, month: 9, day: 8 })).toISOString(),
    ).to.equal('2024-09-08T03:00:00.000Z');
  });

  it('lists boundaries between two instants, both ends included', () => {
    const c = { billCycleDay: 31, timeZone: 'UTC' };
    const bs = billingPeriodBoundariesBetween(iso('2024-01-31T00:00:00Z'), iso('2024-05-31T00:00:00Z'), c);
    expect(bs.map((b) => b.toISOString().slice(0, 10))).to.deep.equal([
      '2024-01-31',
      '2024-02-29',
      '2024-03-31',
      '2024-04-30',
      '2024-05-31',
    ]);
  });

  it('steps to neighbouring periods and tells the late-usage horizon', () => {
    const c = { billCycleDay: 1, timeZone: 'UTC' };
    const now = iso('2024-03-05T00:00:00Z');
    expect(billingPeriodRelativeTo(now, -1, c).start.toISOString()).to.equal('2024-02-01T00:00:00.000Z');
    expect(isWithinLateUsageHorizon(billingPeriodRelativeTo(now, 0, c), now, c)).to.equal(true);
    expect(isWithinLateUsageHorizon(billingPeriodRelativeTo(now, -1, c), now, c)).to.equal(true);
    expect(isWithinLateUsageHorizon(billingPeriodRelativeTo(now, -2, c), now, c)).to.equal(false);
    expect(isWithinLateUsageHorizon(billingPeriodRelativeTo(now, -2, c), now, c, 3)).to.equal(true);
  });

  it('rejects a bad bill-cycle day or an unknown zone', () => {
    for (const bad of [0, 32, 1.5]) {
      expect(() =>
        billingPeriodContaining(iso('2024-01-01T00:00:00Z'), { billCycleDay: bad, timeZone: 'UTC' }),
      ).to.throw(InvalidBillingCycleError);
    }
    expect(() =>
      billingPeriodContaining(iso('2024-01-01T00:00:00Z'), { billCycleDay: 1, timeZone: 'Mars/Olympus' }),
    ).to.throw(InvalidBillingCycleError);
  });
});
