import { expect } from 'chai';
import { parseWindowSize } from '../../src/metering/index.js';
import type { LedgerWindow } from '../../src/record/usage-ledger.js';
import type { RatedRow } from '../../src/sync/rated-usage-pull.js';
import {
  planSubscription,
  type PlanSettings,
  type SubscriptionPlanInput,
} from '../../src/sync/subscription-plan.js';
import { meteredEntry } from '../support/metered-entry.js';

const HOUR = 3_600_000;
const SUB = '5f0f8a1e-1111-4222-8333-944444444444';
const UNIT = 'openstack-billed-instance';
const settings: PlanSettings = { windowSize: parseWindowSize('1h'), horizonPeriods: 2 };
const at = (iso: string) => new Date(iso);
const hour = (start: string, h: number) => new Date(at(start).getTime() + h * HOUR).toISOString();

const entry = meteredEntry({
  subscriptionId: SUB,
  units: { instance: UNIT },
  since: '2026-01-01T00:00:00.000Z',
});

/** One instance row per hour from `start`, each rated `rates[h]`. */
const rows = (start: string, rates: string[]): RatedRow[] =>
  rates.map((rate, h) => ({ beginMs: at(hour(start, h)).getTime(), type: 'instance', stack: null, rate }));

const recorded = (start: string, rate: string, cents: number): [string, LedgerWindow] => [
  start,
  { end: hour(start, 1), rates: { [UNIT]: rate }, cents: { [UNIT]: cents }, lastRevision: 0 },
];

function plan(over: Partial<SubscriptionPlanInput>) {
  const input: SubscriptionPlanInput = {
    entry,
    ledger: new Map(),
    rows: [],
    from: at('2026-03-10T00:00:00Z'),
    to: at('2026-03-10T03:00:00Z'),
    now: at('2026-03-10T05:00:00Z'),
    ...over,
  };
  return [...planSubscription(input, settings)];
}

/** The planner, without Redis, Kill Bill or CloudKitty: registry entry + ledger + rated rows → what to write and send. */
describe('sync: planning a subscription (pure)', () => {
  it('plans a first sync: every fresh window written with its rates, a record where the rounded total moves', () => {
    const start = '2026-03-10T00:00:00.000Z';
    const [period, ...more] = plan({ rows: rows(start, ['0.004', '0.004', '0.004']) });
    expect(more).to.deep.equal([]);
    expect(period?.period.start.toISOString()).to.equal('2026-03-01T00:00:00.000Z');
    expect([...(period?.writes.keys() ?? [])]).to.deep.equal([start, hour(start, 1), hour(start, 2)]);
    expect(period?.writes.get(start)?.rates).to.deep.equal({ [UNIT]: '0.004' });
    // 0.4¢, 0.8¢, 1.2¢ cumulated: the cent is reached in the second window only.
    expect(period?.sends.map((s) => [s.start, s.pending.revision, s.pending.cents])).to.deep.equal([
      [hour(start, 1), 0, { [UNIT]: 1 }],
    ]);
    const send = period?.sends[0];
    expect(send?.resumed).to.equal(false);
    expect(send?.pending.record?.trackingId).to.include(`:${SUB}:20260310T0100Z:1h:r0`);
    expect(period?.writes.get(hour(start, 1))?.pending).to.deep.equal(send?.pending);
    expect(period?.corrections).to.equal(0);
    expect(period?.lateDifferences).to.equal(null);
  });

  it('plans windows before `from` on the rates the ledger remembers, and does not write them again', () => {
    const start = '2026-03-10T00:00:00.000Z';
    const ledger = new Map([recorded(start, '0.006', 1)]);
    const [period] = plan({
      ledger,
      rows: rows(hour(start, 1), ['0.006']),
      from: at(hour(start, 1)),
      to: at(hour(start, 2)),
    });
    expect([...(period?.writes.keys() ?? [])]).to.deep.equal([hour(start, 1)]);
    // 0.6¢ → 1¢ recorded; 1.2¢ → 1¢: the second window adds nothing.
    expect(period?.sends).to.deep.equal([]);
  });

  it('corrects a recorded window whose rate changed, as its next revision', () => {
    const start = '2026-03-10T00:00:00.000Z';
    const ledger = new Map([recorded(start, '0.01', 1)]);
    const [period] = plan({ ledger, rows: rows(start, ['0.03']), from: at(start), to: at(hour(start, 1)) });
    expect(period?.sends.map((s) => [s.start, s.pending.revision, s.pending.cents])).to.deep.equal([
      [start, 1, { [UNIT]: 2 }],
    ]);
    expect(period?.corrections).to.equal(1);
  });

  it('gives a drop in an invoiced period as a credit, not negative usage', () => {
    const start = '2026-02-10T00:00:00.000Z';
    const ledger = new Map([recorded(start, '0.05', 5)]);
    const [period] = plan({ ledger, rows: rows(start, ['0.02']), from: at(start), to: at(hour(start, 1)) });
    const pending = period?.sends[0]?.pending;
    expect(pending?.cents).to.deep.equal({ [UNIT]: -3 });
    expect(pending?.record).to.equal(null);
    expect(pending?.credits?.map((c) => [c.unitType, c.cents])).to.deep.equal([[UNIT, 3]]);
  });

  it('reports a change outside the late-usage horizon instead of recording it', () => {
    // A subscription from that hour on: the ledger holds every window of the period, so none is unprocessed.
    const start = '2026-01-10T00:00:00.000Z';
    const ledger = new Map([recorded(start, '0.05', 5)]);
    const late = { ...entry, since: start };
    const [period] = plan({
      entry: late,
      ledger,
      rows: rows(start, ['0.07']),
      from: at(start),
      to: at(hour(start, 1)),
    });
    expect(period?.sends).to.deep.equal([]);
    expect(period?.lateDifferences).to.deep.equal({ [UNIT]: 2 });
    expect(period?.writes.get(start)?.rates).to.deep.equal({ [UNIT]: '0.07' });
  });

  it('plans each billing period the range touches, one after the other', () => {
    const start = '2026-02-28T23:00:00.000Z';
    const periods = plan({ rows: rows(start, ['0.02', '0.02']), from: at(start), to: at(hour(start, 2)) });
    expect(periods.map((p) => p.period.start.toISOString())).to.deep.equal([
      '2026-02-01T00:00:00.000Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    // Each period rounds on its own: 2¢ in each, both first records.
    expect(periods.map((p) => p.sends.map((s) => s.pending.cents))).to.deep.equal([
      [{ [UNIT]: 2 }],
      [{ [UNIT]: 2 }],
    ]);
  });

  it('plans nothing for an empty range or a subscription ended before it', () => {
    expect(plan({ from: at('2026-03-10T03:00:00Z') })).to.deep.equal([]);
    const ended = plan({ entry: { ...entry, until: '2026-03-05T00:00:00.000Z' } });
    expect(ended.flatMap((p) => [...p.writes.keys(), ...p.sends.map((s) => s.start)])).to.deep.equal([]);
    expect(
      plan({ entry: { ...entry, since: '2026-03-10T05:00:00.000Z', until: '2026-03-10T06:00:00.000Z' } }),
    ).to.deep.equal([]);
  });

  it('leaves the ledger it was given as it was', () => {
    const start = '2026-03-10T00:00:00.000Z';
    const ledger = new Map([recorded(start, '0.01', 1)]);
    const before = JSON.stringify([...ledger]);
    plan({ ledger, rows: rows(start, ['0.03', '0.02', '0.01']) });
    expect(JSON.stringify([...ledger])).to.equal(before);
  });
});
