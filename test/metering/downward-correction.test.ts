import { expect } from 'chai';
import {
  allocatePeriodCents,
  mayHaveBeenInvoiced,
  parseCreditDescription,
  parseWindowSize,
  planPeriodRecords,
  planWindowPosting,
  type PeriodWindowInput,
  type PlannedWindowRecord,
} from '../../src/metering/index.js';

const INSTANCE = 'openstack-billed-instance';
const VCPUS = 'openstack-billed-vcpus';
const SUB = '3f1c2d9e-0000-4000-8000-000000000001';
const H1 = parseWindowSize('1h');
const FEB = { start: new Date('2025-02-01T00:00:00Z'), end: new Date('2025-03-01T00:00:00Z') };
const OPEN_SPAN = { start: new Date('2025-01-01T00:00:00Z'), end: null };
const at = (iso: string) => new Date(iso);

function planned(cents: Record<string, number>, revision = 1): PlannedWindowRecord {
  const start = at('2025-02-03T05:00:00Z');
  return { window: { start, end: at('2025-02-03T06:00:00Z') }, revision, correction: revision > 0, cents };
}

describe('metering: downward corrections of a period Kill Bill may have invoiced', () => {
  it('a period may have been invoiced from its end on, not a millisecond before', () => {
    expect(mayHaveBeenInvoiced(FEB, OPEN_SPAN, at('2025-02-28T23:59:59.999Z'))).to.equal(false);
    expect(mayHaveBeenInvoiced(FEB, OPEN_SPAN, FEB.end)).to.equal(true);
    expect(mayHaveBeenInvoiced(FEB, OPEN_SPAN, at('2025-04-10T00:00:00Z'))).to.equal(true);
  });

  it('a subscription cancelled inside the period may have been invoiced from its cancellation on', () => {
    const span = { start: OPEN_SPAN.start, end: at('2025-02-10T12:00:00Z') };
    expect(mayHaveBeenInvoiced(FEB, span, at('2025-02-10T11:59:59Z'))).to.equal(false);
    expect(mayHaveBeenInvoiced(FEB, span, at('2025-02-10T12:00:00Z'))).to.equal(true);
    // A cancellation after the period changes nothing for it.
    const later = { start: OPEN_SPAN.start, end: at('2025-03-05T00:00:00Z') };
    expect(mayHaveBeenInvoiced(FEB, later, at('2025-02-20T00:00:00Z'))).to.equal(false);
  });

  it('in an ended period a negative unit becomes a credit of |Δ| cents, keyed by the window revision', () => {
    const p = planWindowPosting({
      subscriptionId: SUB,
      span: OPEN_SPAN,
      windowSize: H1,
      planned: planned({ [INSTANCE]: -7, [VCPUS]: 3 }, 2),
      invoiced: true,
    });
    expect(p.credits).to.have.length(1);
    const [credit] = p.credits;
    expect(credit).to.include({ unitType: INSTANCE, cents: 7 });
    const key = parseCreditDescription(credit!.description);
    expect(key?.trackingId).to.equal(`osb1:${SUB}:20250203T0500Z:1h:r2`);
    expect(key?.unitType).to.equal(INSTANCE);
    // The positive unit stays usage, on the same tracking id as the credit's key.
    expect(p.record?.trackingId).to.equal(key?.trackingId);
    expect(p.record?.unitUsageRecords).to.deep.equal([
      { unitType: VCPUS, usageRecords: [{ recordDate: '2025-02-03T05:00:00.000Z', amount: 3 }] },
    ]);
  });

  it('in an ended period a wholly negative correction posts no usage at all', () => {
    const p = planWindowPosting({
      subscriptionId: SUB,
      span: OPEN_SPAN,
      windowSize: H1,
      planned: planned({ [INSTANCE]: -1, [VCPUS]: -250 }),
      invoiced: true,
    });
    expect(p.record).to.equal(null);
    expect(p.credits.map((c) => [c.unitType, c.cents])).to.deep.equal([
      [INSTANCE, 1],
      [VCPUS, 250],
    ]);
  });

  it('in the open period negative usage stays usage, and positive corrections are usage everywhere', () => {
    const open = planWindowPosting({
      subscriptionId: SUB,
      span: OPEN_SPAN,
      windowSize: H1,
      planned: planned({ [INSTANCE]: -7 }),
      invoiced: false,
    });
    expect(open.credits).to.deep.equal([]);
    expect(open.record?.unitUsageRecords[0]?.usageRecords[0]?.amount).to.equal(-7);
    const up = planWindowPosting({
      subscriptionId: SUB,
      span: OPEN_SPAN,
      windowSize: H1,
      planned: planned({ [INSTANCE]: 4 }),
      invoiced: true,
    });
    expect(up.credits).to.deep.equal([]);
    expect(up.record?.unitUsageRecords[0]?.usageRecords[0]?.amount).to.equal(4);
  });

  it('usage + credits after a re-rating down equals the new rounded total, and the next plan is quiet', () => {
    const old = ['0.05', '0.05', '0.0449', '0.05'];
    const now = ['0.05', '0.01', '0.0449', '0.05'];
    const recordedCents = allocatePeriodCents(old);
    const windows: PeriodWindowInput[] = now.map((rate, h) => ({
      window: { start: new Date(Date.UTC(2025, 1, 3, h)), end: new Date(Date.UTC(2025, 1, 3, h + 1)) },
      rates: { [INSTANCE]: rate },
      recorded: { cents: { [INSTANCE]: recordedCents[h]! }, lastRevision: 0 },
    }));
    const plan = planPeriodRecords(windows, true);
    const postings = plan.records.map((planned) =>
      planWindowPosting({ subscriptionId: SUB, span: OPEN_SPAN, windowSize: H1, planned, invoiced: true }),
    );
    const usage = postings.flatMap((p) => p.record?.unitUsageRecords ?? []);
    const credited = postings.flatMap((p) => p.credits).reduce((s, c) => s + c.cents, 0);
    expect(usage, 'no negative usage reaches an invoiced period').to.deep.equal([]);
    const invoiced = recordedCents.reduce((a, b) => a + b, 0);
    expect(invoiced - credited).to.equal(allocatePeriodCents(now).reduce((a, b) => a + b, 0));

    // The ledger counts the credited cents in the window: the next plan sees the total right.
    const after = windows.map((w, h) => {
      const rec = plan.records.find((r) => +r.window.start === +w.window.start);
      const cents = recordedCents[h]! + (rec?.cents[INSTANCE] ?? 0);
      return { ...w, recorded: { cents: { [INSTANCE]: cents }, lastRevision: rec ? 1 : 0 } };
    });
    expect(planPeriodRecords(after, true).records).to.deep.equal([]);
  });
});
