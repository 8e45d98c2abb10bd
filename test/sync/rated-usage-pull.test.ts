import { expect } from 'chai';
import { periodTotalCents, quantizeRate } from '../../src/metering/index.js';
import { chunkHours, ratesForWindows, rowsPerChunk, type RatedRow } from '../../src/sync/rated-usage-pull.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 3, 1);
const windows = [0, 1].map((h) => ({ start: new Date(T0 + h * HOUR), end: new Date(T0 + (h + 1) * HOUR) }));
const units = { instance: 'openstack-billed-instance' };
const row = (h: number, rate: string): RatedRow => ({
  beginMs: T0 + h * HOUR,
  type: 'instance',
  stack: null,
  rate,
});

describe('rates into windows: CloudKitty float noise never moves a cent', () => {
  it('quantizes each rate to the configured scale, half-up', () => {
    expect(quantizeRate('15.62499999999999989').toString()).to.equal('15.625');
    expect(quantizeRate('0.24000000000000002').toString()).to.equal('0.24');
    expect(quantizeRate('0.123456785', 8).toString()).to.equal('0.12345679');
    expect(quantizeRate('0.12345', 2).toString()).to.equal('0.12');
  });

  it('a period that truly totals X.XX5 rounds up, though the float text lies just under it', () => {
    // 15.625 as CloudKitty's float sum reads 15.62499999999999989: exact summing of that text gives 1562 cents.
    const rates = ratesForWindows([row(0, '15.62499999999999989')], windows, units, { stackId: null });
    expect(rates[0]).to.deep.equal({ 'openstack-billed-instance': '15.625' });
    expect(periodTotalCents(rates.map((r) => r['openstack-billed-instance']))).to.equal(1563);
  });

  it('sums noisy rows of one window after quantizing each', () => {
    const rates = ratesForWindows(
      [row(1, '0.30000000000000004'), row(1, '0.19999999999999998'), row(0, '0.1')],
      windows,
      units,
      { stackId: null },
    );
    expect(rates).to.deep.equal([
      { 'openstack-billed-instance': '0.1' },
      { 'openstack-billed-instance': '0.5' },
    ]);
  });
});

describe('pull chunks: no more requests than pages of rows, framing included', () => {
  // The hours of each chunk of a pass over `hours` of `perHour` rows, as the pull takes them.
  const chunksOf = (hours: number, perHour: number, page: number, framing: number) => {
    const target = rowsPerChunk(page, hours * perHour, framing);
    const sizes: number[] = [];
    for (let left = hours; left > 0; left -= sizes[sizes.length - 1]!) {
      sizes.push(chunkHours(left, perHour, target));
    }
    return sizes;
  };

  it('40 hours of 20,000 rows in pages of 50,000: 14 chunks, 16 requests with the fingerprints', () => {
    const sizes = chunksOf(40, 20_000, 50_000, 2);
    expect(sizes.reduce((a, h) => a + h, 0)).to.equal(40);
    expect(sizes.length + 2).to.equal(Math.ceil((40 * 20_000) / 50_000));
  });

  it('whatever the sizes, requests stay within ⌈rows / page⌉ once the rows fill more than three pages', () => {
    for (const page of [50, 1000, 50_000])
      for (const perHour of [1, 7, 20, 999, 20_000, 60_000])
        for (const hours of [2, 5, 24, 40, 721]) {
          const rows = hours * perHour;
          if (rows <= 3 * page) continue;
          const sizes = chunksOf(hours, perHour, page, 2);
          expect(
            sizes.reduce((a, h) => a + h, 0),
            `${hours}h×${perHour}/${page}`,
          ).to.equal(hours);
          // An hour larger than a page is asked alone: the bound is then one request per hour.
          const bound = Math.max(Math.ceil(rows / page), hours + 2);
          expect(sizes.length + 2, `${hours}h×${perHour}/${page}`).to.be.at.most(
            perHour > page ? bound : Math.ceil(rows / page),
          );
        }
  });

  it('a pass of three pages or less is one chunk', () => {
    expect(rowsPerChunk(50, 150, 2)).to.equal(150);
    expect(rowsPerChunk(50, 10, 2)).to.equal(50);
  });
});
