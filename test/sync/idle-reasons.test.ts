import { expect } from 'chai';
import { parseWindowSize } from '../../src/metering/index.js';
import { describeIdle, whyNothingDue, type UnsyncedContext } from '../../src/sync/idle-reasons.js';
import { meteredEntry } from '../support/metered-entry.js';

const HOUR = 3_600_000;
const now = new Date('2026-03-10T14:41:00Z');

const entry = meteredEntry;

function why(over: Partial<UnsyncedContext>) {
  const r = whyNothingDue({
    entry: entry(),
    from: new Date('2026-03-10T12:00:00Z'),
    now,
    windowSize: parseWindowSize('1h'),
    settleDelayMs: 2 * HOUR,
    ...over,
  });
  return { reason: r.reason, at: r.at?.toISOString() };
}

describe('why a subscription had nothing due', () => {
  it('no closed window: the next closes one window plus the settle delay after the watermark', () => {
    expect(why({})).to.deep.equal({ reason: 'noClosedWindow', at: '2026-03-10T15:00:00.000Z' });
    expect(describeIdle('noClosedWindow', 2, new Date('2026-03-10T15:00:00Z'))).to.equal(
      '2 subscription(s) with no closed window yet (next window closes at 2026-03-10T15:00Z)',
    );
  });

  it('CloudKitty behind: waiting for it to rate, up to where it has', () => {
    const ratedUpTo = new Date('2026-03-10T11:30:00Z');
    expect(why({ ratedUpTo })).to.deep.equal({ reason: 'waitingForRating', at: ratedUpTo.toISOString() });
    // The window after the watermark has not even ended: that is no closed window, whatever CloudKitty says.
    expect(why({ ratedUpTo, from: new Date('2026-03-10T14:00:00Z') })).to.deep.equal({
      reason: 'noClosedWindow',
      at: '2026-03-10T15:00:00.000Z',
    });
  });

  it('a project CloudKitty has never rated: not rated yet, with no instant to wait for', () => {
    expect(why({ notRated: true })).to.deep.equal({ reason: 'notRatedYet', at: undefined });
    // Even when windows would be long closed by the clock: CloudKitty will rate them later, from the month start.
    expect(why({ notRated: true, from: new Date('2026-03-01T00:00:00Z') }).reason).to.equal('notRatedYet');
    // What the subscription itself says comes first.
    const later = '2026-03-12T00:00:00.000Z';
    expect(why({ notRated: true, entry: entry({ since: later }), from: new Date(later) }).reason).to.equal(
      'notStarted',
    );
    expect(describeIdle('notRatedYet', 1, undefined)).to.equal(
      '1 subscription(s) not rated by CloudKitty yet (no scope state for their project: cloudkitty-processor has not processed it)',
    );
  });

  it('not started, ended, or outside a backfill range', () => {
    const later = '2026-03-12T00:00:00.000Z';
    expect(why({ entry: entry({ since: later }), from: new Date(later) })).to.deep.equal({
      reason: 'notStarted',
      at: later,
    });
    const until = '2026-03-08T10:20:00.000Z';
    expect(why({ entry: entry({ until }), from: new Date('2026-03-08T11:00:00Z') })).to.deep.equal({
      reason: 'ended',
      at: until,
    });
    const range = { from: new Date('2026-02-01T00:00:00Z'), to: new Date('2026-02-10T00:00:00Z') };
    expect(why({ range, from: new Date('2026-03-01T00:00:00Z') }).reason).to.equal('outsideRange');
  });
});
