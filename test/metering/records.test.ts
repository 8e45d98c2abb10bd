import { expect } from 'chai';
import {
  InvalidInstantError,
  InvalidTrackingIdError,
  MAX_TRACKING_ID_LENGTH,
  buildUsageRecord,
  formatTrackingId,
  closedThrough,
  parseTrackingId,
  parseWindowSize,
  planPeriodRecords,
  recordDateFor,
  spanFromSubscription,
  windowOverlapsSpan,
  type SubscriptionSpan,
} from '../../src/metering/index.js';

const iso = (s: string) => new Date(s);
const SUB = '11111111-2222-3333-4444-555555555555';
const hour = parseWindowSize('1h');
const w = (start: string, end: string) => ({ start: iso(start), end: iso(end) });

describe('metering: closed windows', () => {
  const win = w('2024-01-01T10:00:00Z', '2024-01-01T11:00:00Z');
  const closed = (input: Omit<Parameters<typeof closedThrough>[0], 'windowSize'>) => {
    const through = closedThrough({ ...input, windowSize: hour });
    return through !== null && through >= win.end;
  };
  it('uses CloudKitty last_processed_timestamp when reported', () => {
    const now = iso('2024-01-01T20:00:00Z');
    for (const scopeState of ['required', 'optional'] as const) {
      expect(closed({ now, scopeState, lastProcessed: iso('2024-01-01T11:00:00Z') })).to.equal(true);
      expect(closed({ now, scopeState, lastProcessed: iso('2024-01-01T10:59:59Z') })).to.equal(false);
    }
  });
  it('closes nothing of a project CloudKitty has never rated, however old, by default', () => {
    const input = { now: iso('2024-03-01T00:00:00Z'), windowSize: hour };
    expect(closedThrough(input)).to.equal(null);
    expect(closedThrough({ ...input, scopeState: 'required', lastProcessed: null })).to.equal(null);
  });
  it('with scope states optional, waits the settle delay (default two hours) after the window end', () => {
    const scopeState = 'optional';
    expect(closed({ scopeState, now: iso('2024-01-01T13:00:00Z') })).to.equal(true);
    expect(closed({ scopeState, now: iso('2024-01-01T12:59:59Z') })).to.equal(false);
    expect(closed({ scopeState, now: iso('2024-01-01T11:05:00Z'), settleDelayMs: 5 * 60_000 })).to.equal(
      true,
    );
  });
});

describe('metering: subscription span', () => {
  const open: SubscriptionSpan = { start: iso('2024-01-01T10:20:00Z'), end: null };
  const cancelled: SubscriptionSpan = {
    start: iso('2023-11-01T00:00:00Z'),
    end: iso('2024-01-01T14:40:00Z'),
  };

  it('bills the whole window in which the subscription starts or is cancelled', () => {
    expect(windowOverlapsSpan(w('2024-01-01T09:00:00Z', '2024-01-01T10:00:00Z'), open)).to.equal(false);
    expect(windowOverlapsSpan(w('2024-01-01T10:00:00Z', '2024-01-01T11:00:00Z'), open)).to.equal(true);
    expect(windowOverlapsSpan(w('2024-01-01T14:00:00Z', '2024-01-01T15:00:00Z'), cancelled)).to.equal(true);
    expect(windowOverlapsSpan(w('2024-01-01T15:00:00Z', '2024-01-01T16:00:00Z'), cancelled)).to.equal(false);
  });

  it('an end exactly on a window start excludes that window (half-open)', () => {
    const span = { start: iso('2023-01-01T00:00:00Z'), end: iso('2024-01-01T15:00:00Z') };
    expect(windowOverlapsSpan(w('2024-01-01T15:00:00Z', '2024-01-01T16:00:00Z'), span)).to.equal(false);
    expect(recordDateFor(w('2024-01-01T14:00:00Z', '2024-01-01T15:00:00Z'), span).toISOString()).to.equal(
      '2024-01-01T14:00:00.000Z',
    );
  });

  it('puts recordDate inside both the window and the span', () => {
    expect(recordDateFor(w('2024-01-01T10:00:00Z', '2024-01-01T11:00:00Z'), open).toISOString()).to.equal(
      '2024-01-01T10:20:00.000Z',
    );
    // Backdated subscription: windows long after its start are dated at their own start.
    expect(
      recordDateFor(w('2023-12-01T05:00:00Z', '2023-12-01T06:00:00Z'), cancelled).toISOString(),
    ).to.equal('2023-12-01T05:00:00.000Z');
    // Cancelled mid-window, started in the same window: recordDate stays before the cancellation.
    const short = { start: iso('2024-01-01T14:10:00Z'), end: iso('2024-01-01T14:20:00Z') };
    expect(recordDateFor(w('2024-01-01T14:00:00Z', '2024-01-01T15:00:00Z'), short).toISOString()).to.equal(
      '2024-01-01T14:10:00.000Z',
    );
    expect(() => recordDateFor(w('2024-01-01T16:00:00Z', '2024-01-01T17:00:00Z'), cancelled)).to.throw(
      InvalidInstantError,
    );
  });

  it('reads the span from Kill Bill subscription JSON, taking the earlier end date', () => {
    const span = spanFromSubscription({
      startDate: '2023-12-01T00:00:00.000Z',
      billingStartDate: '2023-12-01T00:00:00.000Z',
      cancelledDate: '2024-01-01T14:40:00.000Z',
      billingEndDate: '2024-01-31T00:00:00.000Z',
    });
    expect(span.start.toISOString()).to.equal('2023-12-01T00:00:00.000Z');
    expect(span.end?.toISOString()).to.equal('2024-01-01T14:40:00.000Z');
    expect(spanFromSubscription({ startDate: '2024-01-15T10:00:00.000Z', cancelledDate: null }).end).to.equal(
      null,
    );
  });
});

describe('metering: tracking ids', () => {
  it('round-trips and stays within 128 characters', () => {
    const parts = {
      subscriptionId: SUB,
      windowStart: iso('2024-02-29T18:30:00Z'),
      windowSize: hour,
      revision: 3,
    };
    const id = formatTrackingId(parts);
    expect(id).to.equal(`osb1:${SUB}:20240229T1830Z:1h:r3`);
    expect(id.length).to.be.at.most(MAX_TRACKING_ID_LENGTH);
    expect(parseTrackingId(id)).to.deep.equal(parts);
    const longest = formatTrackingId({
      subscriptionId: 'x'.repeat(64),
      windowStart: iso('9999-12-31T23:59:00Z'),
      windowSize: parseWindowSize('15m'),
      revision: 999_999_999,
    });
    expect(longest.length).to.be.at.most(MAX_TRACKING_ID_LENGTH);
  });

  it('does not recognise foreign or malformed ids', () => {
    for (const id of [
      'acct42-2024-01-15-batch7',
      `osb1:${SUB}:20240230T1000Z:1h:r0`,
      `osb1:${SUB}:20240101T1075Z:1h:r0`,
      `osb1:${SUB}:20240101T1000Z:60m:r0`,
      `osb1:${SUB}:20240101T1000Z:1h:r-1`,
      `osb2:${SUB}:20240101T1000Z:1h:r0`,
    ]) {
      expect(parseTrackingId(id), id).to.equal(null);
    }
  });

  it('refuses inputs that would make an ambiguous or invalid id', () => {
    const ok = {
      subscriptionId: SUB,
      windowStart: iso('2024-01-01T00:00:00Z'),
      windowSize: hour,
      revision: 0,
    };
    expect(() => formatTrackingId({ ...ok, subscriptionId: 'a:b' })).to.throw(InvalidTrackingIdError);
    expect(() => formatTrackingId({ ...ok, revision: -1 })).to.throw(InvalidTrackingIdError);
    expect(() => formatTrackingId({ ...ok, windowStart: iso('2024-01-01T00:00:30Z') })).to.throw(
      InvalidTrackingIdError,
    );
  });
});

describe('metering: usage records', () => {
  const span: SubscriptionSpan = { start: iso('2024-01-01T10:20:00Z'), end: null };
  const win = w('2024-01-01T10:00:00Z', '2024-01-01T11:00:00Z');

  it('builds one record per window with both units, in whole cents', () => {
    const record = buildUsageRecord({
      subscriptionId: SUB,
      span,
      window: win,
      windowSize: hour,
      revision: 0,
      cents: { 'openstack-billed-vcpus': 2, 'openstack-billed-instance': 5 },
    });
    expect(record).to.deep.equal({
      subscriptionId: SUB,
      trackingId: `osb1:${SUB}:20240101T1000Z:1h:r0`,
      unitUsageRecords: [
        {
          unitType: 'openstack-billed-instance',
          usageRecords: [{ recordDate: '2024-01-01T10:20:00.000Z', amount: 5 }],
        },
        {
          unitType: 'openstack-billed-vcpus',
          usageRecords: [{ recordDate: '2024-01-01T10:20:00.000Z', amount: 2 }],
        },
      ],
    });
  });

  it('leaves out zero units and returns null for a zero window', () => {
    const base = { subscriptionId: SUB, span, window: win, windowSize: hour, revision: 0 };
    const one = buildUsageRecord({
      ...base,
      cents: { 'openstack-billed-instance': 0, 'openstack-billed-vcpus': -3 },
    });
    expect(one?.unitUsageRecords.map((u) => u.unitType)).to.deep.equal(['openstack-billed-vcpus']);
    expect(
      buildUsageRecord({ ...base, cents: { 'openstack-billed-instance': 0, 'openstack-billed-vcpus': 0 } }),
    ).to.equal(null);
    expect(buildUsageRecord({ ...base, cents: {} })).to.equal(null);
  });

  it('goes end to end from a period plan to Kill Bill JSON', () => {
    const rates = { 'openstack-billed-instance': '0.24000000000000002', 'openstack-billed-vcpus': '0' };
    const plan = planPeriodRecords([{ window: win, rates }], true);
    const json = plan.records.map((p) =>
      buildUsageRecord({
        subscriptionId: SUB,
        span,
        window: p.window,
        windowSize: hour,
        revision: p.revision,
        cents: p.cents,
      }),
    );
    expect(json).to.have.length(1);
    expect(json[0]?.unitUsageRecords).to.deep.equal([
      {
        unitType: 'openstack-billed-instance',
        usageRecords: [{ recordDate: '2024-01-01T10:20:00.000Z', amount: 24 }],
      },
    ]);
  });
});
