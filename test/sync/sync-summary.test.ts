import { expect } from 'chai';
import { reportJson, summarize } from '../../src/app/sync-command.js';
import type { SubscriptionSyncResult } from '../../src/sync/subscription-sync.js';

const result = (r: Partial<SubscriptionSyncResult>): SubscriptionSyncResult => ({
  subscriptionId: 'sub',
  records: 0,
  corrections: 0,
  alreadyRecorded: 0,
  lateDifferences: 0,
  ...r,
});

describe('bridge sync summary: credits for invoiced periods', () => {
  it('says how many credits and how much money, counting those found again after a lost answer', () => {
    const report = {
      metered: 2,
      idle: [],
      results: [
        result({ corrections: 1, credits: 1, creditedCents: 1205 }),
        result({ subscriptionId: 'b', corrections: 1, alreadyCredited: 1, creditedCents: 7 }),
      ],
    };
    expect(summarize(report)).to.equal(
      '2 metered subscription(s), 2 synced: 0 record(s) sent, 2 correction(s), 0 already recorded, ' +
        '2 credit(s) of 12.12 given, 0 late difference(s) reported, 0 failed',
    );
    expect(reportJson(report).totals).to.deep.include({
      credits: 1,
      alreadyCredited: 1,
      creditedCents: 1212,
    });
  });

  it('says nothing of credits when there were none (a result from before credits counts as none)', () => {
    const text = summarize({ metered: 1, idle: [], results: [result({ records: 3 })] });
    expect(text).to.equal(
      '1 metered subscription(s), 1 synced: 3 record(s) sent, 0 correction(s), 0 already recorded, ' +
        '0 late difference(s) reported, 0 failed',
    );
  });
});
