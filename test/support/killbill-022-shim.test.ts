import { expect } from 'chai';
import { readsFor022 } from './billing-read-shim.js';
import { recordDatesCut, usageWithLocalDates } from './record-date-shim.js';

/** The pure rewrites the 0.22 shim applies: what the e2e tests' traffic to Kill Bill 0.22 becomes. */
describe('Kill Bill 0.22 shim rewrites', () => {
  it('cuts each recordDate of a usage POST to its UTC day, and nothing else', () => {
    const body =
      '{"usageRecords":[{"recordDate":"2025-06-01T23:00:00.000Z","amount":1},' +
      '{"recordDate":"2025-06-02T00:00:00.000Z","amount":2}]}';
    const req = { method: 'POST', path: '/1.0/kb/usages', body };
    expect(usageWithLocalDates(req)).to.equal(
      '{"usageRecords":[{"recordDate":"2025-06-01","amount":1},{"recordDate":"2025-06-02","amount":2}]}',
    );
    expect(recordDatesCut(req)).to.equal(2);
    expect(usageWithLocalDates({ method: 'GET', path: '/1.0/kb/usages/x', body: '' })).to.equal(undefined);
    expect(usageWithLocalDates({ method: 'POST', path: '/1.0/kb/credits', body })).to.equal(undefined);
    expect(recordDatesCut({ method: 'POST', path: '/1.0/kb/credits', body })).to.equal(0);
  });

  it('renames the invoices flag and cuts the usage read bounds to dates', () => {
    expect(readsFor022('/1.0/kb/accounts/a1/invoices?includeInvoiceComponents=true&audit=NONE')).to.equal(
      '/1.0/kb/accounts/a1/invoices?withItems=true&audit=NONE',
    );
    expect(
      readsFor022('/1.0/kb/usages/s1?startDate=2025-06-01T00:00:00.000Z&endDate=2025-07-01T00:00:00.000Z'),
    ).to.equal('/1.0/kb/usages/s1?startDate=2025-06-01&endDate=2025-07-01');
    expect(readsFor022('/1.0/kb/accounts/a1')).to.equal(undefined);
  });
});
