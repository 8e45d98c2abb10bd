import { expect } from 'chai';
import { parseWindowSize } from '../../src/metering/index.js';
import { syncRange, type SyncRangeSettings } from '../../src/sync/sync-range.js';
import { meteredEntry } from '../support/metered-entry.js';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

const entry = meteredEntry({ since: '2026-03-03T10:20:00.000Z' });

const settings: SyncRangeSettings = {
  windowSize: parseWindowSize('1h'),
  settleDelayMs: 2 * HOUR,
  scopeState: 'required',
  horizonPeriods: 2,
};

const now = at('2026-04-10T12:30:00Z');
const ratedUpTo = at('2026-04-10T09:45:00Z');
const iso = (r: { from: Date; to: Date; notRated: boolean }) => ({
  from: r.from.toISOString(),
  to: r.to.toISOString(),
  notRated: r.notRated,
});

describe('sync range: the windows one run may record', () => {
  it('starts a never-recorded subscription at its start, aligned down to its window', () => {
    const r = syncRange(entry, undefined, { mode: 'new' }, now, ratedUpTo, settings);
    expect(iso(r)).to.deep.equal({
      from: '2026-03-03T10:00:00.000Z',
      to: '2026-04-10T09:00:00.000Z',
      notRated: false,
    });
  });

  it('continues from the watermark', () => {
    const r = syncRange(entry, '2026-04-10T05:00:00.000Z', { mode: 'new' }, now, ratedUpTo, settings);
    expect(r.from.toISOString()).to.equal('2026-04-10T05:00:00.000Z');
  });

  it('records nothing closed for a project CloudKitty has not rated while its scope state is required', () => {
    const r = syncRange(entry, '2026-04-10T05:00:00.000Z', { mode: 'new' }, now, undefined, settings);
    expect(iso(r)).to.deep.equal({
      from: '2026-04-10T05:00:00.000Z',
      to: '2026-04-10T05:00:00.000Z',
      notRated: true,
    });
  });

  it('closes windows by the settle delay when the scope state is optional', () => {
    const r = syncRange(entry, undefined, { mode: 'new' }, now, undefined, {
      ...settings,
      scopeState: 'optional',
    });
    // now − 2 h = 10:30, aligned down to 10:00.
    expect(r.to.toISOString()).to.equal('2026-04-10T10:00:00.000Z');
    expect(r.notRated).to.equal(false);
  });

  it("takes a backfill's range, never before the subscription's start, its end aligned down", () => {
    const early = syncRange(
      entry,
      '2026-04-10T05:00:00.000Z',
      { mode: 'new', from: at('2026-01-01T00:00:00Z'), to: at('2026-03-20T07:59:00Z') },
      now,
      ratedUpTo,
      settings,
    );
    expect(iso(early)).to.deep.equal({
      from: '2026-03-03T10:00:00.000Z',
      to: '2026-03-20T07:00:00.000Z',
      notRated: false,
    });
    const late = syncRange(
      entry,
      undefined,
      { mode: 'new', from: at('2026-03-15T06:30:00Z') },
      now,
      ratedUpTo,
      settings,
    );
    expect(late.from.toISOString()).to.equal('2026-03-15T06:00:00.000Z');
  });

  it('never goes past what CloudKitty has closed, whatever the backfill asks', () => {
    const r = syncRange(
      entry,
      undefined,
      { mode: 'new', to: at('2026-05-01T00:00:00Z') },
      now,
      ratedUpTo,
      settings,
    );
    expect(r.to.toISOString()).to.equal('2026-04-10T09:00:00.000Z');
  });

  it('rechecks from the start of the horizon, the previous billing period here', () => {
    const r = syncRange(entry, '2026-04-10T05:00:00.000Z', { mode: 'recheck' }, now, ratedUpTo, settings);
    expect(r.from.toISOString()).to.equal('2026-03-03T10:00:00.000Z');
    const oneOnly = syncRange(entry, '2026-04-10T05:00:00.000Z', { mode: 'recheck' }, now, ratedUpTo, {
      ...settings,
      horizonPeriods: 1,
    });
    expect(oneOnly.from.toISOString()).to.equal('2026-04-01T00:00:00.000Z');
  });

  it('rechecks from the watermark when that is older than the horizon', () => {
    const r = syncRange(entry, '2026-04-10T05:00:00.000Z', { mode: 'recheck' }, now, ratedUpTo, {
      ...settings,
      horizonPeriods: 1,
    });
    expect(r.from.toISOString()).to.equal('2026-04-01T00:00:00.000Z');
    const behind = syncRange(entry, '2026-03-20T00:00:00.000Z', { mode: 'recheck' }, now, ratedUpTo, {
      ...settings,
      horizonPeriods: 1,
    });
    expect(behind.from.toISOString()).to.equal('2026-03-20T00:00:00.000Z');
  });

  it("ends a cancelled subscription's range with the window holding its end", () => {
    const mid = syncRange(
      { ...entry, until: '2026-04-05T03:10:00.000Z' },
      undefined,
      { mode: 'new' },
      now,
      ratedUpTo,
      settings,
    );
    expect(mid.to.toISOString()).to.equal('2026-04-05T04:00:00.000Z');
    const onEdge = syncRange(
      { ...entry, until: '2026-04-05T03:00:00.000Z' },
      undefined,
      { mode: 'new' },
      now,
      ratedUpTo,
      settings,
    );
    expect(onEdge.to.toISOString()).to.equal('2026-04-05T03:00:00.000Z');
  });

  it("cuts the horizon at the account's time zone, FIXED at its reference time unless told otherwise", () => {
    // Paris was at +01:00 when the account was made (March 3) and is at +02:00 in April.
    const inParis = { ...entry, timeZone: 'Europe/Paris', referenceTime: '2026-03-03T10:20:00.000Z' };
    const recheck = (tzMode?: 'UTC' | 'VARIABLE') =>
      syncRange(inParis, '2026-04-10T05:00:00.000Z', { mode: 'recheck' }, now, ratedUpTo, {
        ...settings,
        horizonPeriods: 1,
        ...(tzMode ? { tzMode } : {}),
      }).from.toISOString();
    expect(recheck()).to.equal('2026-03-31T23:00:00.000Z');
    expect(recheck('VARIABLE')).to.equal('2026-03-31T22:00:00.000Z');
    expect(recheck('UTC')).to.equal('2026-04-01T00:00:00.000Z');
  });
});
