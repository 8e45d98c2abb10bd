import { expect } from 'chai';
import {
  InvalidPeriodInputError,
  allocatePeriodCents,
  planPeriodRecords,
  planUnitPeriod,
  type PeriodWindowInput,
  type UnitWindowInput,
} from '../../src/metering/index.js';

const INSTANCE = 'openstack-billed-instance';
const VCPUS = 'openstack-billed-vcpus';

/** Windows as the sync would have recorded them from `oldRates`, now seeing `newRates`. */
function recordedFrom(oldRates: (string | null)[], newRates: (string | null)[]): UnitWindowInput[] {
  const old = allocatePeriodCents(oldRates);
  return newRates.map((rate, i) => ({ rate, recordedCents: old[i] ?? 0, recorded: i < oldRates.length }));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function hourWindow(h: number) {
  return { start: new Date(Date.UTC(2024, 0, 1, h)), end: new Date(Date.UTC(2024, 0, 1, h + 1)) };
}

describe('metering: corrections for late data and re-rating', () => {
  it('nothing changed: no correction, only new windows are allocated', () => {
    const plan = planUnitPeriod(recordedFrom(['0.05', '0.05'], ['0.05', '0.05', '0.05']), true);
    expect(plan.correctionIndex).to.equal(null);
    expect(plan.cents).to.deep.equal([0, 0, 5]);
  });

  it('one re-rated window produces exactly one correction, on that window', () => {
    const old = ['0.05', '0.05', '0.05', '0.05'];
    const now = ['0.05', '0.08', '0.05', '0.05'];
    const plan = planUnitPeriod(recordedFrom(old, now), true);
    expect(plan.cents.filter((c) => c !== 0)).to.have.length(1);
    expect(plan.correctionIndex).to.equal(1);
    expect(plan.correctionCents).to.equal(3);
    expect(sum(allocatePeriodCents(old)) + sum(plan.cents)).to.equal(23);
  });

  it('a lowered rate gives a negative correction', () => {
    const plan = planUnitPeriod(recordedFrom(['0.10', '0.10', '0.10'], ['0.10', '0.02', '0.10']), true);
    expect(plan.correctionIndex).to.equal(1);
    expect(plan.correctionCents).to.equal(-8);
    expect(plan.cents).to.deep.equal([0, -8, 0]);
  });

  it('late data on an earlier zero window lands there; later windows continue from the corrected total', () => {
    const old = ['0.004', null, '0.004'];
    const now = ['0.004', '0.004', '0.004', '0.004'];
    const plan = planUnitPeriod(recordedFrom(old, now), true);
    // recorded 0.008 -> 1 cent; now 0.012 -> 1 cent up to window 2: no correction; window 3 -> 0.016 -> 2 cents.
    expect(plan.correctionIndex).to.equal(null);
    expect(plan.cents).to.deep.equal([0, 0, 0, 1]);
  });

  it('re-rating that only shows after rounding is corrected where the running total first differs', () => {
    const old = ['0.004', '0.004', '0.004', '0.004'];
    const now = ['0.004', '0.005', '0.004', '0.004'];
    const plan = planUnitPeriod(recordedFrom(old, now), true);
    // old running cents 0,1,1,2; new targets 0,1,1,2 (0.017 -> 2): no difference at all.
    expect(plan.correctionIndex).to.equal(null);
    const now2 = ['0.004', '0.006', '0.004', '0.004'];
    const plan2 = planUnitPeriod(recordedFrom(old, now2), true);
    // new targets 0,1,1,2 (0.018 -> 2): still none. A bigger change:
    expect(plan2.correctionIndex).to.equal(null);
    // Redistributed but same total (0.023 -> 2 cents): per-period totals are what is billed, so no correction.
    expect(
      planUnitPeriod(recordedFrom(old, ['0.004', '0.011', '0.004', '0.004']), true).correctionIndex,
    ).to.equal(null);
    // 0.026 -> 3 cents: the running total first differs at window 1, where the one correction goes.
    const plan3 = planUnitPeriod(recordedFrom(old, ['0.004', '0.014', '0.004', '0.004']), true);
    expect(plan3.correctionIndex).to.equal(1);
    expect(plan3.correctionCents).to.equal(1);
  });

  it('property: after old records plus the plan, every period total is exact', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let run = 0; run < 200; run++) {
      const n = 1 + Math.floor(next() * 30);
      const recordedCount = Math.floor(next() * (n + 1));
      const oldRates = Array.from({ length: recordedCount }, () => (next() * 0.2).toFixed(4));
      const newRates = Array.from({ length: n }, (_, i) =>
        i < recordedCount && next() < 0.8 ? (oldRates[i] as string) : (next() * 0.2).toFixed(5),
      );
      const plan = planUnitPeriod(recordedFrom(oldRates, newRates), true);
      const total = sum(allocatePeriodCents(oldRates)) + sum(plan.cents);
      expect(total, JSON.stringify({ oldRates, newRates })).to.equal(sum(allocatePeriodCents(newRates)));
      expect(plan.cents.slice(0, recordedCount).filter((c) => c !== 0).length).to.be.at.most(1);
    }
  });

  it('outside the horizon a difference is reported, never recorded', () => {
    const plan = planUnitPeriod(recordedFrom(['0.10', '0.10'], ['0.10', '0.25', '0.05']), false);
    expect(plan.cents).to.deep.equal([0, 0, 0]);
    expect(plan.correctionIndex).to.equal(null);
    expect(plan.lateDifferenceCents).to.equal(20);
  });

  it('plans both units per window, with the next revision number for corrections', () => {
    const windows: PeriodWindowInput[] = [
      {
        window: hourWindow(0),
        rates: { [INSTANCE]: '0.05', [VCPUS]: '0.02' },
        recorded: { cents: { [INSTANCE]: 5, [VCPUS]: 2 }, lastRevision: 0 },
      },
      {
        window: hourWindow(1),
        rates: { [INSTANCE]: '0.07', [VCPUS]: '0.02' },
        recorded: { cents: { [INSTANCE]: 5, [VCPUS]: 2 }, lastRevision: 1 },
      },
      { window: hourWindow(2), rates: { [INSTANCE]: '0.05', [VCPUS]: null } },
    ];
    const plan = planPeriodRecords(windows, true);
    expect(plan.records).to.deep.equal([
      { window: hourWindow(1), revision: 2, correction: true, cents: { [INSTANCE]: 2 } },
      { window: hourWindow(2), revision: 0, correction: false, cents: { [INSTANCE]: 5 } },
    ]);
    expect(plan.lateDifferences).to.deep.equal({});
  });

  it('reports per-unit late differences outside the horizon and plans no records', () => {
    const windows: PeriodWindowInput[] = [
      {
        window: hourWindow(0),
        rates: { [INSTANCE]: '0.05', [VCPUS]: '0.03' },
        recorded: { cents: { [INSTANCE]: 5, [VCPUS]: 2 }, lastRevision: 0 },
      },
    ];
    expect(planPeriodRecords(windows, false)).to.deep.equal({ records: [], lateDifferences: { [VCPUS]: 1 } });
  });

  it('rejects windows out of order', () => {
    const windows: PeriodWindowInput[] = [
      { window: hourWindow(1), rates: {} },
      { window: hourWindow(0), rates: {} },
    ];
    expect(() => planPeriodRecords(windows, true)).to.throw(InvalidPeriodInputError);
  });
});
