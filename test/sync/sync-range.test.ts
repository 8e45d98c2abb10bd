import { expect } from 'chai';
import { parseWindowSize } from '../../src/metering/index.js';
import type { MeteredEntry } from '../../src/sync/metered-entry.js';
import { syncRange, type SyncRangeRequest, type SyncRangeSettings } from '../../src/sync/sync-range.js';
import { meteredEntry } from '../support/metered-entry.js';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
const now = at('2026-04-10T12:30:00Z');
const WATERMARK = '2026-04-10T05:00:00.000Z';

interface Case {
  watermark?: string;
  req?: SyncRangeRequest;
  entry?: Partial<MeteredEntry>;
  settings?: Partial<SyncRangeSettings>;
  /** What CloudKitty has rated up to; 09:45 unless a case says otherwise (undefined: never rated). */
  ratedUpTo?: Date;
}

/**
 * The range of one subscription started 2026-03-03 10:20 UTC, hourly windows, 2 h settle delay, scope state
 * required, a two-period horizon, asked at 12:30 on April 10: each case changes only what it is about.
 */
function range(c: Case = {}) {
  const r = syncRange(
    meteredEntry({ since: '2026-03-03T10:20:00.000Z', ...c.entry }),
    c.watermark,
    c.req ?? { mode: 'new' },
    now,
    'ratedUpTo' in c ? c.ratedUpTo : at('2026-04-10T09:45:00Z'),
    {
      windowSize: parseWindowSize('1h'),
      settleDelayMs: 2 * HOUR,
      scopeState: 'required',
      horizonPeriods: 2,
      ...c.settings,
    },
  );
  return { from: r.from.toISOString(), to: r.to.toISOString(), notRated: r.notRated };
}

describe('sync range: the windows one run may record', () => {
  it('starts a never-recorded subscription at its start, aligned down to its window', () => {
    expect(range()).to.deep.equal({
      from: '2026-03-03T10:00:00.000Z',
      to: '2026-04-10T09:00:00.000Z',
      notRated: false,
    });
  });

  it('continues from the watermark', () => {
    expect(range({ watermark: WATERMARK }).from).to.equal(WATERMARK);
  });

  it('records nothing closed for a project CloudKitty has not rated while its scope state is required', () => {
    expect(range({ watermark: WATERMARK, ratedUpTo: undefined })).to.deep.equal({
      from: WATERMARK,
      to: WATERMARK,
      notRated: true,
    });
  });

  it('closes windows by the settle delay when the scope state is optional', () => {
    const r = range({ ratedUpTo: undefined, settings: { scopeState: 'optional' } });
    // now − 2 h = 10:30, aligned down to 10:00.
    expect(r.to).to.equal('2026-04-10T10:00:00.000Z');
    expect(r.notRated).to.equal(false);
  });

  it("takes a backfill's range, never before the subscription's start, its end aligned down", () => {
    const early = range({
      watermark: WATERMARK,
      req: { mode: 'new', from: at('2026-01-01T00:00:00Z'), to: at('2026-03-20T07:59:00Z') },
    });
    expect(early).to.deep.equal({
      from: '2026-03-03T10:00:00.000Z',
      to: '2026-03-20T07:00:00.000Z',
      notRated: false,
    });
    const late = range({ req: { mode: 'new', from: at('2026-03-15T06:30:00Z') } });
    expect(late.from).to.equal('2026-03-15T06:00:00.000Z');
  });

  it('never goes past what CloudKitty has closed, whatever the backfill asks', () => {
    expect(range({ req: { mode: 'new', to: at('2026-05-01T00:00:00Z') } }).to).to.equal(
      '2026-04-10T09:00:00.000Z',
    );
  });

  it('rechecks from the start of the horizon, the previous billing period here', () => {
    const recheck: SyncRangeRequest = { mode: 'recheck' };
    expect(range({ watermark: WATERMARK, req: recheck }).from).to.equal('2026-03-03T10:00:00.000Z');
    const oneOnly = range({ watermark: WATERMARK, req: recheck, settings: { horizonPeriods: 1 } });
    expect(oneOnly.from).to.equal('2026-04-01T00:00:00.000Z');
  });

  it('rechecks from the watermark when that is older than the horizon', () => {
    const behind = range({
      watermark: '2026-03-20T00:00:00.000Z',
      req: { mode: 'recheck' },
      settings: { horizonPeriods: 1 },
    });
    expect(behind.from).to.equal('2026-03-20T00:00:00.000Z');
  });

  it("ends a cancelled subscription's range with the window holding its end", () => {
    expect(range({ entry: { until: '2026-04-05T03:10:00.000Z' } }).to).to.equal('2026-04-05T04:00:00.000Z');
    expect(range({ entry: { until: '2026-04-05T03:00:00.000Z' } }).to).to.equal('2026-04-05T03:00:00.000Z');
  });

  it("cuts the horizon at the account's time zone, FIXED at its reference time unless told otherwise", () => {
    // Paris was at +01:00 when the account was made (March 3) and is at +02:00 in April.
    const recheck = (tzMode?: 'UTC' | 'VARIABLE') =>
      range({
        watermark: WATERMARK,
        req: { mode: 'recheck' },
        entry: { timeZone: 'Europe/Paris', referenceTime: '2026-03-03T10:20:00.000Z' },
        settings: { horizonPeriods: 1, ...(tzMode ? { tzMode } : {}) },
      }).from;
    expect(recheck()).to.equal('2026-03-31T23:00:00.000Z');
    expect(recheck('VARIABLE')).to.equal('2026-03-31T22:00:00.000Z');
    expect(recheck('UTC')).to.equal('2026-04-01T00:00:00.000Z');
  });
});
