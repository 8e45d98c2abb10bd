import { expect } from 'chai';
import type { CreditedUsage, RecordedUsage } from '../../src/record/record-observer.js';
import { isMetered } from '../../src/sync/metered-entry.js';
import { SubscriptionTally } from '../../src/sync/subscription-tally.js';
import { meteredEntry } from '../support/metered-entry.js';

const usage = (outcome: RecordedUsage['outcome']): RecordedUsage => ({
  tenant: 'bob',
  cents: { u: 3 },
  correction: false,
  outcome,
});
const credit = (outcome: CreditedUsage['outcome'], cents: number): CreditedUsage => ({
  tenant: 'bob',
  unitType: 'u',
  cents,
  outcome,
});

describe('sync: a run counts what Kill Bill confirmed', () => {
  it('counts records and credits of both kinds, and passes each on to the process observer', () => {
    const heard: string[] = [];
    const tally = new SubscriptionTally('sub', {
      recorded: (u) => heard.push(`recorded ${u.outcome}`),
      credited: (c) => heard.push(`credited ${c.outcome}`),
    });
    tally.recorded(usage('recorded'));
    tally.recorded(usage('already-recorded'));
    tally.credited(credit('credited', 5));
    tally.credited(credit('already-credited', 2));
    tally.corrections += 1;
    expect(tally.result()).to.deep.equal({
      subscriptionId: 'sub',
      records: 1,
      corrections: 1,
      alreadyRecorded: 1,
      lateDifferences: 0,
      credits: 1,
      alreadyCredited: 1,
      creditedCents: 7,
    });
    expect(heard).to.deep.equal([
      'recorded recorded',
      'recorded already-recorded',
      'credited credited',
      'credited already-credited',
    ]);
  });

  it('syncs only a metered entry with a project and a start', () => {
    const entry = meteredEntry({ units: {} });
    expect(isMetered(entry)).to.equal(true);
    expect(isMetered({ ...entry, projectId: null })).to.equal(false);
    expect(isMetered({ ...entry, since: null })).to.equal(false);
    expect(isMetered({ ...entry, status: 'conflict' })).to.equal(false);
  });
});
