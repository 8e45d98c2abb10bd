import { expect } from 'chai';
import { parseWindowSize } from '../../src/metering/index.js';
import type { LedgerWindow } from '../../src/record/usage-ledger.js';
import type { RatedRow } from '../../src/sync/rated-usage-pull.js';
import {
  planSubscription,
  type PlannedPeriod,
  type PlanSettings,
  type SubscriptionPlanInput,
} from '../../src/sync/subscription-plan.js';
import { meteredEntry } from '../support/metered-entry.js';

const HOUR = 3_600_000;
const UNIT = 'openstack-billed-instance';
const settings: PlanSettings = { windowSize: parseWindowSize('1h'), horizonPeriods: 2 };
const MARCH = '2026-03-01T00:00:00.000Z';
const hour = (h: number) => new Date(Date.parse('2026-03-10T00:00:00Z') + h * HOUR);
const at = (h: number) => hour(h).toISOString();

const entry = meteredEntry({
  subscriptionId: '5f0f8a1e-1111-4222-8333-966666666666',
  units: { instance: UNIT },
  since: '2026-03-10T00:00:00.000Z',
});

/** One instance row per hour from hour `first`. */
const rows = (first: number, rates: string[]): RatedRow[] =>
  rates.map((rate, i) => ({ beginMs: hour(first + i).getTime(), type: 'instance', stack: null, rate }));

/** Plans hours [first, first + rates.length) on `ledger`. */
function plan(
  ledger: Map<string, LedgerWindow>,
  first: number,
  rates: string[],
  over: Partial<SubscriptionPlanInput> = {},
) {
  const input = {
    entry,
    ledger,
    rows: rows(first, rates),
    from: hour(first),
    to: hour(first + rates.length),
    now: hour(first + rates.length + 1),
    ...over,
  };
  return [...planSubscription(input, settings)];
}

/** Carries plans out: writes, then every revision confirmed. */
function carry(ledger: Map<string, LedgerWindow>, periods: PlannedPeriod[]) {
  for (const p of periods) {
    for (const [start, w] of p.writes) ledger.set(start, w);
    for (const { start, window, pending } of p.sends) {
      const { pending: _sent, ...rest } = window;
      const cents = { ...rest.cents };
      for (const [u, c] of Object.entries(pending.cents)) cents[u] = (cents[u] ?? 0) + c;
      ledger.set(start, { ...rest, cents, lastRevision: pending.revision });
    }
  }
  return ledger;
}

const holders = (ledger: Map<string, LedgerWindow>) =>
  [...ledger].filter(([, w]) => w.rounding).map(([start, w]) => [start, w.rounding]);

/** A ledger through hour 3: 0.4¢ an hour, one cent recorded at hour 1; the state on hour 2. */
const settled = () => carry(new Map(), plan(new Map(), 0, ['0.004', '0.004', '0.004']));

describe('sync: the rounding state a ledger keeps per billing period', () => {
  it('is kept on the last window a plan writes, and the next sync continues from it', () => {
    const ledger = settled();
    expect(holders(ledger)).to.deep.equal([
      [at(2), { since: at(0), rates: { [UNIT]: '0.012' }, cents: { [UNIT]: 1 } }],
    ]);
    const [next] = plan(ledger, 3, ['0.004']);
    expect(next?.whole).to.equal(false);
    // 1.6¢ so far: the second cent, on the new window.
    expect(next?.sends.map((s) => [s.start, s.pending.cents])).to.deep.equal([[at(3), { [UNIT]: 1 }]]);
    carry(ledger, next ? [next] : []);
    expect(holders(ledger)).to.deep.equal([
      [at(3), { since: at(0), rates: { [UNIT]: '0.016' }, cents: { [UNIT]: 2 } }],
    ]);
  });

  it('is missing from a ledger written before it existed: the period is planned whole, and the state kept', () => {
    const ledger = settled();
    for (const [start, w] of ledger) ledger.set(start, { ...w, rounding: undefined });
    const [next] = plan(ledger, 3, ['0.004']);
    expect(next?.whole).to.equal(true);
    expect(next?.writes.get(at(3))?.rounding).to.deep.equal({
      since: at(0),
      rates: { [UNIT]: '0.016' },
      cents: { [UNIT]: 2 },
    });
  });

  it('is not continued by a recheck, a resumed run, a moved start, a pending or an unsettled state', () => {
    const whole = (ledger: Map<string, LedgerWindow>, first: number, rates: string[], over = {}) =>
      plan(ledger, first, rates, over).map((p) => p.whole);
    expect(whole(settled(), 1, ['0.004', '0.014', '0.004'])).to.deep.equal([true]);
    expect(whole(settled(), 3, ['0.004'], { wholePeriods: true })).to.deep.equal([true]);
    expect(whole(settled(), 3, ['0.004'], { entry: { ...entry, since: MARCH } })).to.deep.equal([true]);
    const pending = settled();
    const last = pending.get(at(2)) as LedgerWindow;
    pending.set(at(2), { ...last, pending: { revision: 0, cents: { [UNIT]: 1 }, record: null } });
    expect(whole(pending, 3, ['0.004'])).to.deep.equal([true]);
    const unsettled = settled();
    unsettled.set(at(2), {
      ...last,
      rounding: { since: at(0), rates: { [UNIT]: '0.012' }, cents: { [UNIT]: 0 } },
    });
    expect(whole(unsettled, 3, ['0.004'])).to.deep.equal([true]);
  });

  it('moves with every plan, so the period never has two', () => {
    const ledger = settled();
    carry(ledger, plan(ledger, 3, ['0.004']));
    // A recheck of hours 1–2 only: the state moves to hour 2, hour 3's is dropped.
    carry(ledger, plan(ledger, 1, ['0.004', '0.004'], { now: hour(6) }));
    expect(holders(ledger).map(([start]) => start)).to.deep.equal([at(2)]);
    // The next sync after hour 3 finds no state there: it plans the period whole.
    expect(plan(ledger, 4, ['0.004']).map((p) => p.whole)).to.deep.equal([true]);
  });

  it('is dropped by a plan outside the late-usage horizon, which records nothing', () => {
    const ledger = settled();
    const [late] = plan(ledger, 0, ['0.004', '0.014', '0.004'], { now: new Date('2026-05-02T00:00:00Z') });
    expect(late?.lateDifferences).to.deep.equal({ [UNIT]: 1 });
    carry(ledger, late ? [late] : []);
    expect(holders(ledger)).to.deep.equal([]);
  });

  it('starts again with each billing period', () => {
    const ledger = carry(new Map(), plan(new Map(), 0, ['0.004']));
    const [march, april] = plan(ledger, 1, ['0.004'], {
      from: new Date('2026-03-31T23:00:00Z'),
      to: new Date('2026-04-01T01:00:00Z'),
      rows: [
        { beginMs: Date.parse('2026-03-31T23:00:00Z'), type: 'instance', stack: null, rate: '0.007' },
        { beginMs: Date.parse('2026-04-01T00:00:00Z'), type: 'instance', stack: null, rate: '0.007' },
      ],
      now: new Date('2026-04-01T02:00:00Z'),
    });
    expect([march?.period.start.toISOString(), april?.period.start.toISOString()]).to.deep.equal([
      MARCH,
      '2026-04-01T00:00:00.000Z',
    ]);
    expect(april?.writes.get('2026-04-01T00:00:00.000Z')?.rounding).to.deep.equal({
      since: '2026-04-01T00:00:00.000Z',
      rates: { [UNIT]: '0.007' },
      cents: { [UNIT]: 1 },
    });
  });
});
