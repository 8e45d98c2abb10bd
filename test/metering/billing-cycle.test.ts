import { expect } from 'chai';
import {
  billingCycleOf,
  billingPeriodContaining,
  InvalidBillingCycleError,
} from '../../src/metering/index.js';

const april = new Date('2024-04-10T12:00:00Z');
const newYorkInWinter = {
  billCycleDay: 1,
  timeZone: 'America/New_York',
  referenceTime: '2024-01-15T10:00:00Z',
  since: '2024-01-15T10:00:00Z',
};

describe('billing cycle as Kill Bill derives it (tz mode, reference time, bill-cycle day)', () => {
  it('FIXED: an account created in New York winter keeps −05:00 all year, so April starts at 05:00Z', () => {
    const period = billingPeriodContaining(april, billingCycleOf(newYorkInWinter, 'FIXED'));
    expect(period.start.toISOString()).to.equal('2024-04-01T05:00:00.000Z');
    expect(period.end.toISOString()).to.equal('2024-05-01T05:00:00.000Z');
  });

  it('VARIABLE: local midnight with DST, so April starts at 04:00Z', () => {
    const period = billingPeriodContaining(april, billingCycleOf(newYorkInWinter, 'VARIABLE'));
    expect(period.start.toISOString()).to.equal('2024-04-01T04:00:00.000Z');
  });

  it("a subscription's own bill-cycle day moves its periods (Asia/Kolkata, day 15)", () => {
    const cycle = billingCycleOf(
      { billCycleDay: 15, timeZone: 'Asia/Kolkata', referenceTime: null, since: '2024-03-02T00:00:00Z' },
      'FIXED',
    );
    const period = billingPeriodContaining(april, cycle);
    expect(period.start.toISOString()).to.equal('2024-03-14T18:30:00.000Z');
    expect(period.end.toISOString()).to.equal('2024-04-14T18:30:00.000Z');
  });

  it('UTC (Kill Bill 0.24.0–0.24.3, 0.22 with UTC-dated records): midnight UTC of the bill-cycle date, no reference time needed', () => {
    const ny = billingCycleOf({ ...newYorkInWinter, referenceTime: null }, 'UTC');
    expect(billingPeriodContaining(april, ny)).to.deep.equal({
      start: new Date('2024-04-01T00:00:00.000Z'),
      end: new Date('2024-05-01T00:00:00.000Z'),
    });
    // Kolkata's local April starts at 18:30Z on 31 March; in this mode that instant is still March.
    const kolkata = billingCycleOf(
      { billCycleDay: 15, timeZone: 'Asia/Kolkata', referenceTime: null, since: '2024-03-02T00:00:00Z' },
      'UTC',
    );
    expect(billingPeriodContaining(new Date('2024-03-14T18:30:00Z'), kolkata)).to.deep.equal({
      start: new Date('2024-02-15T00:00:00.000Z'),
      end: new Date('2024-03-15T00:00:00.000Z'),
    });
    // A bill-cycle day past the month's end still falls on the month's last day.
    const late = billingCycleOf({ ...newYorkInWinter, billCycleDay: 31 }, 'UTC');
    expect(billingPeriodContaining(new Date('2024-03-01T00:00:00Z'), late).start.toISOString()).to.equal(
      '2024-02-29T00:00:00.000Z',
    );
  });

  it('without a reference time, a zone with DST is refused rather than guessed', () => {
    expect(() => billingCycleOf({ ...newYorkInWinter, referenceTime: null }, 'FIXED')).to.throw(
      InvalidBillingCycleError,
      /reference time is unknown and America\/New_York changes its offset/,
    );
  });

  it('before Kill Bill has set a bill-cycle day, the start day is taken', () => {
    const cycle = billingCycleOf({ ...newYorkInWinter, billCycleDay: 0 }, 'FIXED');
    expect(cycle.billCycleDay).to.equal(15);
  });
});
