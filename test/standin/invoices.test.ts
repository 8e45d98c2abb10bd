import { expect } from 'chai';
import type { InvoiceItem } from 'killbill';
import {
  CREATED_BY,
  createAccount,
  createSubscription,
  expectSpecConformance,
  startHarness,
  uploadCatalog,
  type StandinHarness,
  type TestTenant,
} from './support/standin-harness.js';

/** Contract §11: dry-run invoices price the period's summed usage in whole blocks, tier by tier. */
describe('Kill Bill stand-in: dry-run invoice', () => {
  let h: StandinHarness;
  let t: TestTenant;

  before(async () => {
    h = await startHarness();
    t = await h.newTenant();
    await uploadCatalog(t.kb);
  });
  after(() => h.close());
  afterEach(() => expectSpecConformance(h.traffic));

  const record = (subscriptionId: string, unitType: string, recordDate: string, amount: number) =>
    t.kb.usage.recordUsage(
      { subscriptionId, unitUsageRecords: [{ unitType, usageRecords: [{ recordDate, amount }] }] },
      CREATED_BY,
    );

  const dryRun = async (accountId: string, targetDate: string) =>
    (
      await t.kb.invoices.generateDryRunInvoice(
        { dryRunType: 'TARGET_DATE' },
        accountId,
        CREATED_BY,
        targetDate,
      )
    ).data;

  const detailsOf = (item: InvoiceItem) =>
    JSON.parse(item.itemDetails!) as { tierDetails: Record<string, unknown>[]; amount: number };

  it('prices ALL_TIERS with whole blocks and tier max, plus the recurring price billed in advance', async () => {
    const accountId = await createAccount(t.kb, { referenceTime: '2024-01-01T12:00:00.000Z' });
    const sub = await createSubscription(t.kb, accountId, 'water-monthly', { entitlementDate: '2024-01-15' });
    await record(sub, 'liter', '2024-01-20T00:00:00.000Z', 1000.1);
    await record(sub, 'liter', '2024-02-14T23:59:59.000Z', 0.2);
    await record(sub, 'liter', '2024-02-15T00:00:00.000Z', 99); // next period
    const invoice = await dryRun(accountId, '2024-02-15');
    const usage = invoice.items!.find((i) => i.itemType === 'USAGE')!;
    expect(usage).to.deep.include({
      usageName: 'water-monthly-usage',
      startDate: '2024-01-15',
      endDate: '2024-02-15',
      amount: 1502,
    });
    // 1000.3 liters cost 1001 blocks: 1000 at 1.50 (the tier max), 1 at 2.00.
    expect(detailsOf(usage).tierDetails.map((d) => [d.tier, d.quantity, d.amount])).to.deep.equal([
      [1, 1000, 1500],
      [2, 1, 2],
    ]);
    const recurring = invoice.items!.find((i) => i.itemType === 'RECURRING')!;
    expect(recurring).to.deep.include({
      startDate: '2024-02-15',
      endDate: '2024-03-15',
      amount: 30,
      rate: 30,
    });
    expect(invoice).to.deep.include({ accountId, currency: 'USD', targetDate: '2024-02-15', amount: 1532 });
  });

  it('prices TOP_TIER at the tier reached, and bills exact cents when one unit is one cent', async () => {
    const accountId = await createAccount(t.kb, {
      referenceTime: '2024-01-01T00:00:00.000Z',
      timeZone: 'Europe/Paris',
    });
    const sub = await createSubscription(t.kb, accountId, 'cloud-usage', { billingDate: '2024-01-01' });
    // 23:30 UTC on Jan 31 is already February in Paris: next period.
    await record(sub, 'cents', '2024-01-10T00:00:00.000Z', 1234);
    await record(sub, 'cents', '2024-01-31T23:30:00.000Z', 5);
    await record(sub, 'gb-hour', '2024-01-11T00:00:00.000Z', 101);
    const invoice = await dryRun(accountId, '2024-02-01');
    const byUsage = Object.fromEntries(invoice.items!.map((i) => [i.usageName, i]));
    expect(byUsage['cloud-usage-cents']).to.deep.include({
      amount: 12.34,
      startDate: '2024-01-01',
      endDate: '2024-02-01',
    });
    // 101 gb-hours in blocks of 10 = 11 blocks > max 10 of tier 1, so all 11 at tier 2's 0.50.
    expect(byUsage['cloud-usage-storage']!.amount).to.equal(5.5);
    expect(detailsOf(byUsage['cloud-usage-storage']!).tierDetails).to.deep.equal([
      { tier: 2, tierUnit: 'gb-hour', tierPrice: 0.5, tierBlockSize: 10, quantity: 11, amount: 5.5 },
    ]);
    expect(invoice.trackingIds).to.have.length(2);
  });

  it('answers an upcoming-invoice dry run for the period in progress', async () => {
    const accountId = await createAccount(t.kb);
    const sub = await createSubscription(t.kb, accountId, 'cloud-usage');
    await record(sub, 'cents', new Date().toISOString(), 250);
    const res = await t.kb.invoices.generateDryRunInvoice(
      { dryRunType: 'UPCOMING_INVOICE' },
      accountId,
      CREATED_BY,
    );
    expect(res.status).to.equal(200);
    const item = res.data.items!.find((i) => i.usageName === 'cloud-usage-cents')!;
    expect(item.amount).to.equal(2.5);
    expect(item.startDate! <= new Date().toISOString().slice(0, 10)).to.equal(true);
    expect(item.endDate).to.equal(res.data.targetDate);
  });
});
