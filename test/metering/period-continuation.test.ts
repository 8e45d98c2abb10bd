import { expect } from 'chai';
import {
  continuePeriodRecords,
  exactRateSum,
  isSettled,
  planPeriodRecords,
  roundingStateAfter,
  type PeriodWindowInput,
} from '../../src/metering/index.js';

const HOUR = 3_600_000;
const A = 'openstack-billed-instance';
const B = 'openstack-billed-vcpus';

/** A small seeded generator so a failing property run can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RATES = ['0.005', '0.0025', '0.0049', '0.0051', '0.01', '0', '0.00333333', '-0.005', '0.125'];

function windows(random: () => number, n: number, offset = 0): PeriodWindowInput[] {
  return Array.from({ length: n }, (_, i) => {
    const rates: Record<string, string> = {};
    for (const unit of [A, B])
      if (random() < 0.8) rates[unit] = RATES[Math.floor(random() * RATES.length)] as string;
    const start = Date.UTC(2026, 2, 1) + (offset + i) * HOUR;
    return { window: { start: new Date(start), end: new Date(start + HOUR) }, rates };
  });
}

describe('metering: continuing a period from its rounding state', () => {
  it('sums rates exactly into canonical text, whichever way it is read', () => {
    expect(exactRateSum(['0.004', '0.004', null, '0.002'])).to.equal('0.01');
    expect(exactRateSum([])).to.equal('0');
    expect(exactRateSum(['-0.5', '0.25'])).to.equal('-0.25');
    expect(exactRateSum(['0.1', '-0.1'])).to.equal('0');
    expect(exactRateSum(['12', '0.50'])).to.equal('12.5');
    // More than 18 places or an exponent is read by decimal.js: the text is the same.
    expect(exactRateSum(['1e-2', '0.0000000000000000000010', '-0.000000000000000000001'])).to.equal('0.01');
    expect(exactRateSum(['0.1000000000000000000001'])).to.equal('0.1000000000000000000001');
  });

  it('plans what the whole period plans, and ends in the same state', function () {
    this.timeout(30_000);
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed);
      const before = windows(random, 1 + Math.floor(random() * 30));
      const after = windows(random, 1 + Math.floor(random() * 5), before.length);
      const first = planPeriodRecords(before, true);
      const state = roundingStateAfter(before, first);
      expect(isSettled(state), `seed ${seed}`).to.equal(true);
      // The earlier windows as recorded once the first plan is carried out.
      const recorded = before.map((w) => {
        const rec = first.records.find((r) => r.window === w.window);
        return rec ? { ...w, recorded: { cents: rec.cents, lastRevision: 0 } } : w;
      });
      const whole = planPeriodRecords([...recorded, ...after], true);
      const continued = continuePeriodRecords(state, after);
      expect(continued?.plan, `seed ${seed}`).to.deep.equal(whole);
      expect(continued?.state, `seed ${seed}`).to.deep.equal(
        roundingStateAfter([...recorded, ...after], whole),
      );
    }
  });

  it('refuses a state whose cents are not its rounded sum', () => {
    const state = { rates: { [A]: '0.012' }, cents: { [A]: 0 } };
    expect(isSettled(state)).to.equal(false);
    expect(continuePeriodRecords(state, windows(rng(1), 2))).to.equal(null);
  });
});
