import { expect } from 'chai';
import { periodTotalCents, quantizeRate } from '../../src/metering/index.js';
import { ratesForWindows, type RatedRow } from '../../src/sync/rated-usage-pull.js';

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
