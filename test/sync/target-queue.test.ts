import { expect } from 'chai';
import type { MeteredEntry } from '../../src/sync/metered-entry.js';
import type { RatedRow } from '../../src/sync/rated-usage-pull.js';
import type { SyncTarget } from '../../src/sync/subscription-sync.js';
import { takeTargets } from '../../src/sync/target-queue.js';

const target = (subscriptionId: string, projectId: string): SyncTarget => ({
  entry: { subscriptionId, projectId } as MeteredEntry,
  from: new Date(0),
  to: new Date(3_600_000),
});
const row = (rate: string): RatedRow => ({ beginMs: 0, type: 'instance', stack: null, rate });

describe('the targets a sync run takes', () => {
  it('gives each in order with its project rows, says which is its project last, and keeps none', () => {
    const usage = new Map([
      ['p1', [row('1')]],
      ['p2', [row('2')]],
    ]);
    // p1 has two subscriptions (two clusters of one project), p3 has no rows.
    const targets = [target('s1', 'P1'), target('s2', 'p2'), target('s3', 'p1'), target('s4', 'p3')];
    const prepared = { targets: [...targets], usage };
    const taken = [...takeTargets(prepared)];
    expect(prepared.targets).to.deep.equal([]);
    expect(taken.map((t) => t.target.entry.subscriptionId)).to.deep.equal(['s1', 's2', 's3', 's4']);
    expect(taken.map((t) => t.project)).to.deep.equal(['p1', 'p2', 'p1', 'p3']);
    expect(taken.map((t) => t.lastOfProject)).to.deep.equal([false, true, true, true]);
    expect(taken.map((t) => t.rows.map((r) => r.rate))).to.deep.equal([['1'], ['2'], ['1'], []]);
  });

  it('lets each target go as it is taken, not at the end', () => {
    const targets = [target('s1', 'p1'), target('s2', 'p1')];
    const prepared = { targets, usage: new Map<string, RatedRow[]>() };
    const queue = takeTargets(prepared);
    queue.next();
    // The array the run was given no longer holds the target it handed out.
    expect(targets[0]).to.equal(undefined);
    expect(targets[1]?.entry.subscriptionId).to.equal('s2');
  });
});
