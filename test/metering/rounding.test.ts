import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import {
  InvalidRateError,
  allocatePeriodCents,
  cumulativeTargets,
  parseRate,
  periodTotalCents,
  quantizeRate,
  toCentsHalfUp,
} from '../../src/metering/index.js';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

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

describe('metering: cents and rounding once per billing period', () => {
  it('reads decimal strings exactly, null as zero, and refuses anything else', () => {
    expect(parseRate('0.24000000000000002').toString()).to.equal('0.24000000000000002');
    expect(parseRate(null).isZero()).to.equal(true);
    expect(parseRate('1e-7').toString()).to.equal('0.0000001');
    for (const bad of ['', 'abc', 'NaN', 'Infinity', '1,5', '0x10']) {
      expect(() => parseRate(bad), bad).to.throw(InvalidRateError);
    }
  });

  it('rounds half-up at exactly half a cent, symmetric for negatives', () => {
    expect(toCentsHalfUp(parseRate('0.005'))).to.equal(1);
    expect(toCentsHalfUp(parseRate('0.0049999999'))).to.equal(0);
    expect(toCentsHalfUp(parseRate('0.015'))).to.equal(2);
    expect(toCentsHalfUp(parseRate('-0.005'))).to.equal(-1);
    expect(toCentsHalfUp(parseRate('-0.004'))).to.equal(0);
    expect(Object.is(toCentsHalfUp(parseRate('-0.004')), -0)).to.equal(false);
  });

  it('24 windows of 0.05 record 120 cents in total', () => {
    const cents = allocatePeriodCents(Array(24).fill('0.05'));
    expect(cents).to.deep.equal(Array(24).fill(5));
    expect(sum(cents)).to.equal(120);
  });

  it('3 windows of 0.004 record 1 cent in total (never 0, never 3)', () => {
    const cents = allocatePeriodCents(['0.004', '0.004', '0.004']);
    expect(cents).to.deep.equal([0, 1, 0]);
    expect(periodTotalCents(['0.004', '0.004', '0.004'])).to.equal(1);
  });

  it('float noise from CloudKitty does not move a cent', () => {
    expect(allocatePeriodCents(['0.24000000000000002'])).to.deep.equal([24]);
    expect(allocatePeriodCents(['1.2000000000000004', '0.12000000000000001'])).to.deep.equal([120, 12]);
    // Half a cent plus noise is more than half: rounds up, as the exact decimal says.
    expect(allocatePeriodCents(['0.0050000000000000001'])).to.deep.equal([1]);
  });

  it('quantizes CloudKitty float sums before they are summed, so an exact half cent still rounds up', () => {
    // 0.0107 + 0.0243 as CloudKitty's float SUM; read exactly, the period 0.035 + 0.0100 would round down.
    expect(0.0107 + 0.0243).to.equal(0.034999999999999996);
    expect(periodTotalCents(['0.034999999999999996', '0.01'])).to.equal(4);
    expect(quantizeRate('0.034999999999999996').toString()).to.equal('0.035');
    expect(periodTotalCents([quantizeRate('0.034999999999999996').toString(), '0.01'])).to.equal(5);
    expect(quantizeRate('0.30000000000000004').toString()).to.equal('0.3');
    expect(quantizeRate('0.000000004').toString()).to.equal('0');
    expect(quantizeRate('-0.123456785').toString()).to.equal('-0.12345679');
  });

  it('treats missing data (null) as zero in the running total', () => {
    expect(allocatePeriodCents(['0.006', null, '0.006'])).to.deep.equal([1, 0, 0]);
    expect(cumulativeTargets([null, '0.02'])).to.deep.equal([0, 2]);
  });

  it('property: for random rates, every prefix sums to roundHalfUp(Σ rates of the prefix)', () => {
    const next = rng(20240601);
    for (let run = 0; run < 300; run++) {
      const n = 1 + Math.floor(next() * 60);
      const rates = Array.from({ length: n }, () => {
        const r = next();
        if (r < 0.1) return null;
        // 0 to ~2.0 with up to 17 significant decimals, sometimes exactly on a half cent
        if (r < 0.2) return new Decimal(Math.floor(next() * 400)).dividedBy(1000).plus('0.005').toString();
        return new Decimal(next())
          .times(2)
          .toSignificantDigits(1 + Math.floor(next() * 17))
          .toString();
      });
      const cents = allocatePeriodCents(rates);
      expect(cents).to.have.length(n);
      let exact = new Decimal(0);
      let recorded = 0;
      rates.forEach((rate, k) => {
        exact = exact.plus(rate ?? 0);
        recorded += cents[k] as number;
        expect(Number.isSafeInteger(cents[k])).to.equal(true);
        expect(cents[k]).to.be.at.least(0);
        const expected = exact.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
        expect(recorded, `run ${run} prefix ${k} rates ${JSON.stringify(rates)}`).to.equal(expected);
      });
    }
  });

  it('property: plain text of up to 18 places, signed, big or tiny, rounds as decimal.js does', () => {
    const next = rng(20261129);
    for (let run = 0; run < 300; run++) {
      const n = 1 + Math.floor(next() * 40);
      const rates = Array.from({ length: n }, () => {
        const r = next();
        if (r < 0.1) return null;
        const sign = next() < 0.3 ? '-' : '';
        const whole = r < 0.2 ? String(Math.floor(next() * 1e12)) : String(Math.floor(next() * 3));
        const places = Math.floor(next() * 19);
        const fraction = Array.from({ length: places }, () => Math.floor(next() * 10)).join('');
        return places === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
      });
      let exact = new Decimal(0);
      const reference = rates.map((rate) => {
        exact = exact.plus(rate ?? 0);
        const cents = exact.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
        return cents === 0 ? 0 : cents;
      });
      expect(cumulativeTargets(rates), `run ${run} rates ${JSON.stringify(rates)}`).to.deep.equal(reference);
    }
    // Text the integer path does not take (exponents, more places) still goes through decimal.js.
    expect(cumulativeTargets(['1e-2', '0.0049999999999999999999', '+0.01'])).to.deep.equal([1, 1, 2]);
  });
});
