import { expect } from 'chai';
import type { Invoice, InvoiceItem } from 'killbill';
import { invoicePreviewLines } from '../scripts/demo/invoice-preview.js';
import { formatMoney } from '../scripts/demo/money.js';

function item(unit: string, amount: number): InvoiceItem {
  return {
    itemType: 'USAGE',
    usageName: unit,
    amount,
    startDate: '2026-01-01',
    endDate: '2026-02-01',
    // DETAIL mode: one tier per item, its unit at the top (AGGREGATE nests them in tierDetails).
    itemDetails: JSON.stringify({ tierUnit: unit }),
  } as InvoiceItem;
}

// The demo's formatting, for the cases its own run never shows (test/demo.test.ts reads a real run).
describe('demo output', () => {
  it('prints money in the currency’s own digits', () => {
    expect([formatMoney(2.7, 'USD'), formatMoney('1200', 'JPY'), formatMoney(0.1, 'BHD')]).to.deep.equal([
      '2.70 USD',
      '1200 JPY',
      '0.100 BHD',
    ]);
  });

  it('shows a zero usage line only for a unit the subscription meters', () => {
    const invoice = { amount: 0, currency: 'USD', items: [item('vcpus', 0), item('instance', 0)] } as Invoice;
    expect(invoicePreviewLines('a', invoice, ['instance'])).to.deep.equal([
      'a: 0.00 USD',
      '  USAGE instance 0.00 (2026-01-01 → 2026-02-01)',
    ]);
  });

  it('groups an account’s lines per cluster, named as concertim names it, account-level items last', () => {
    const invoice = {
      amount: 1.5,
      currency: 'USD',
      items: [
        { ...item('credit', -0.2), itemType: 'CBA_ADJ' },
        { ...item('instance', 1.2), subscriptionId: 's1' },
        { ...item('instance', 0.5), subscriptionId: 's2' },
      ],
    } as Invoice;
    const clusters = {
      s1: { stackId: 'e1f2', stackName: 'hpc-a' },
      s2: { stackId: null, stackName: null },
    };
    expect(invoicePreviewLines('a', invoice, ['instance'], clusters)).to.deep.equal([
      'a: 1.50 USD',
      '  cluster hpc-a (e1f2)',
      '    USAGE instance 1.20 (2026-01-01 → 2026-02-01)',
      '  subscription s2',
      '    USAGE instance 0.50 (2026-01-01 → 2026-02-01)',
      '  account',
      '    CBA_ADJ credit -0.20 (2026-01-01 → 2026-02-01)',
    ]);
  });
});
