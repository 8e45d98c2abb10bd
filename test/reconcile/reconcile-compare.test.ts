import { expect } from 'chai';
import { formatCreditDescription, formatTrackingId, parseWindowSize } from '../../src/metering/index.js';
import {
  amountCents,
  comparePeriod,
  reconcile,
  unitOfItem,
  type BilledItem,
  type PeriodFigures,
} from '../../src/reconcile/reconcile-compare.js';
import { periodStartingIn } from '../../src/reconcile/reconcile-run.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const INSTANCE = 'openstack-billed-instance';
const VCPUS = 'openstack-billed-vcpus';
const details = (unit: string) => JSON.stringify({ tierDetails: [{ tier: 1, tierUnit: unit, quantity: 1 }] });

function usageItem(unit: string, amount: number, over: Partial<BilledItem> = {}): BilledItem {
  return {
    itemType: 'USAGE',
    subscriptionId: SUB,
    usageName: `usage-${unit}`,
    startDate: '2025-02-01',
    endDate: '2025-03-01',
    amount,
    itemDetails: details(unit),
    ...over,
  };
}

function credit(windowStart: string, unit: string, amount: number, subscriptionId = SUB): BilledItem {
  const trackingId = formatTrackingId({
    subscriptionId,
    windowStart: new Date(windowStart),
    windowSize: parseWindowSize('1h'),
    revision: 2,
  });
  return { itemType: 'CREDIT_ADJ', amount, description: formatCreditDescription(trackingId, unit) };
}

function figures(over: Partial<PeriodFigures> = {}): PeriodFigures {
  return {
    tenant: 'bob',
    accountId: 'acc-1',
    subscriptionId: SUB,
    currency: 'USD',
    start: new Date('2025-02-01T00:00:00Z'),
    end: new Date('2025-03-01T00:00:00Z'),
    localStart: '2025-02-01',
    localEnd: '2025-03-01',
    units: [INSTANCE, VCPUS],
    // 0.004 × 3 rounds once to 1 cent (not 0 per window); 0.005 + 0.0049… sums before rounding.
    rates: { [INSTANCE]: ['0.004', '0.004', '0.004'], [VCPUS]: ['1.005', null, '0.0049'] },
    recorded: { [INSTANCE]: 1, [VCPUS]: '101.000000000' },
    invoiced: [],
    toBeInvoiced: [],
    ...over,
  };
}

describe('reconcile: the pure comparison of CloudKitty and Kill Bill', () => {
  it('rounds CloudKitty’s period once, half-up, and is 0 when the dry run bills exactly that', () => {
    const lines = comparePeriod(
      figures({ toBeInvoiced: [usageItem(INSTANCE, 0.01), usageItem(VCPUS, 1.01)] }),
    );
    expect(
      lines.map((l) => [l.unit, l.cloudkittyCents, l.recordedCents, l.toBeInvoicedCents, l.differenceCents]),
    ).to.deep.equal([
      [INSTANCE, 1, 1, 1, 0],
      [VCPUS, 101, 101, 101, 0],
    ]);
  });

  it('adds the invoiced items to what the dry run adds, and says what Kill Bill is missing', () => {
    const f = figures({
      invoiced: [usageItem(INSTANCE, 0.01), usageItem(VCPUS, 0.99)],
      toBeInvoiced: [usageItem(VCPUS, 0.01)],
    });
    const [instance, vcpus] = comparePeriod(f);
    expect(instance).to.include({ invoicedCents: 1, toBeInvoicedCents: 0, differenceCents: 0 });
    expect(vcpus).to.include({ invoicedCents: 99, toBeInvoicedCents: 1, differenceCents: 1 });
  });

  it('reads only this subscription’s USAGE items of this period, by the unit their tiers bill', () => {
    const f = figures({
      units: [INSTANCE],
      invoiced: [
        usageItem(INSTANCE, 0.01),
        usageItem(INSTANCE, 5, { subscriptionId: 'other' }),
        usageItem(INSTANCE, 7, { startDate: '2025-01-01', endDate: '2025-02-01' }),
        usageItem(INSTANCE, 9, { startDate: '2025-03-01', endDate: '2025-04-01' }),
        usageItem(VCPUS, 11),
        { ...usageItem(INSTANCE, 13), itemType: 'RECURRING' },
      ],
    });
    expect(comparePeriod(f)[0]).to.include({ invoicedCents: 1, differenceCents: 0 });
  });

  it('falls back to the usage name when an item has no tier details', () => {
    const item = usageItem(INSTANCE, 0.01, { itemDetails: null, usageName: 'billing-instance' });
    expect(unitOfItem(item, { 'billing-instance': INSTANCE })).to.equal(INSTANCE);
    expect(unitOfItem(item)).to.equal(undefined);
    expect(unitOfItem({ ...item, itemDetails: 'not json' }, { 'billing-instance': VCPUS })).to.equal(VCPUS);
  });

  it('counts the bridge’s own credits of this period and unit, and no one else’s', () => {
    const f = figures({
      units: [VCPUS],
      invoiced: [
        usageItem(VCPUS, 1.05),
        credit('2025-02-10T05:00:00Z', VCPUS, -0.04),
        credit('2025-03-01T00:00:00Z', VCPUS, -0.5), // the next period's window
        credit('2025-02-10T05:00:00Z', INSTANCE, -0.5), // another unit
        credit('2025-02-10T05:00:00Z', VCPUS, -0.5, '99999999-2222-3333-4444-555555555555'),
        { itemType: 'CREDIT_ADJ', amount: -3, description: 'goodwill credit by an operator' },
      ],
    });
    expect(comparePeriod(f)[0]).to.include({ invoicedCents: 105, creditedCents: 4, differenceCents: 0 });
  });

  it('totals per currency and per tenant, ok only when every line is 0', () => {
    const good = figures({ toBeInvoiced: [usageItem(INSTANCE, 0.01), usageItem(VCPUS, 1.01)] });
    const short = figures({ tenant: 'alice', currency: 'EUR', toBeInvoiced: [usageItem(INSTANCE, 0.01)] });
    const report = reconcile([good, short]);
    expect(report.ok).to.equal(false);
    expect(report.byTenant).to.deep.equal({ bob: 0, alice: 101 });
    // One line short and one over are both counted: the tenant's metric never cancels them out.
    const over = figures({ toBeInvoiced: [usageItem(INSTANCE, 0.03), usageItem(VCPUS, 1.01)] });
    const under = figures({ toBeInvoiced: [usageItem(INSTANCE, 0.01), usageItem(VCPUS, 0.99)] });
    expect(reconcile([over, under]).byTenant).to.deep.equal({ bob: 4 });
    expect(report.totals).to.deep.equal({
      USD: { cloudkittyCents: 102, billedCents: 102, creditedCents: 0, differenceCents: 0 },
      EUR: { cloudkittyCents: 102, billedCents: 1, creditedCents: 0, differenceCents: 101 },
    });
    expect(reconcile([good]).ok).to.equal(true);
    expect(reconcile([]).ok).to.equal(true);
  });

  it('names each line’s cluster, and shows usage no one owns beside the lines without making them differ', () => {
    const clusterLine = figures({
      stackId: 'stack-a',
      stackName: 'hpc-a',
      toBeInvoiced: [usageItem(INSTANCE, 0.01), usageItem(VCPUS, 1.01)],
    });
    const loose = {
      tenant: 'bob',
      projectId: 'p1',
      accountIds: ['acc-1'],
      stacks: ['stack-y', null],
      periodStart: '2025-02-01T00:00:00.000Z',
      periodEnd: '2025-03-01T00:00:00.000Z',
      rated: { instance: '0.5994', vcpus: '0.125', cpu: '-0.005' },
    };
    const report = reconcile([clusterLine, figures()], [loose]);
    expect(report.lines.map((l) => [l.stackId, l.stackName])).to.deep.equal([
      ['stack-a', 'hpc-a'],
      ['stack-a', 'hpc-a'],
      [null, null],
      [null, null],
    ]);
    // Rounded half-up (away from zero), once, from the exact text.
    expect(report.unattributed).to.deep.equal([
      { ...loose, ratedCents: { instance: 60, vcpus: 13, cpu: -1 } },
    ]);
    expect(reconcile([clusterLine], [loose]).ok).to.equal(true);
  });

  it('reads Kill Bill’s amounts through their decimal text, never as float cents', () => {
    // 0.29 × 100 is 28.999999999999996 in floats.
    expect([amountCents(0.29), amountCents('1.10'), amountCents(-0.07), amountCents(null)]).to.deep.equal([
      29, 110, -7, 0,
    ]);
  });

  it('picks the billing period that starts in the month, in the account’s own zone', () => {
    const cycle = { billCycleDay: 1, timeZone: 'Asia/Kolkata', tzMode: 'VARIABLE' as const };
    const p = periodStartingIn({ year: 2025, month: 3 }, cycle);
    expect([p.start.toISOString(), p.end.toISOString()]).to.deep.equal([
      '2025-02-28T18:30:00.000Z',
      '2025-03-31T18:30:00.000Z',
    ]);
    const late = periodStartingIn({ year: 2024, month: 2 }, { billCycleDay: 31, timeZone: 'UTC' });
    expect(late.start.toISOString()).to.equal('2024-02-29T00:00:00.000Z');
  });
});
