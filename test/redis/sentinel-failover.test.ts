import { expect } from 'chai';
import { RedisSentinelSetup } from '../support/redis-sentinel.js';
import { runUsageFlow, type UsageFlowOutcome } from './usage-flow.js';

/** Every subscription holds exactly its project's total, and its one job completed once. */
function expectExactlyOnce(outcome: UsageFlowOutcome): void {
  expect(outcome.finishedAfterDisruption, 'jobs that ran on through the failover').to.be.greaterThan(0);
  expect(outcome.readyEvents, 'the bridge reconnected to the new master').to.be.greaterThan(1);
  expect(outcome.recordedCents).to.deep.equal(outcome.expectedCents);
  expect(outcome.failedJobs).to.equal(0);
  for (const a of outcome.accounts) {
    expect(outcome.completedJobs.get(a.subscriptionId), `completed jobs of ${a.subscriptionId}`).to.equal(1);
  }
}

describe('Redis Sentinel: the usage sync runs through a failover, exactly once (real Sentinels, Kill Bill, CloudKitty)', function () {
  this.timeout(10 * 60_000);
  let sentinel: RedisSentinelSetup;

  before(async () => {
    sentinel = await RedisSentinelSetup.start();
  });
  after(async () => {
    await sentinel?.close();
  });

  it('SENTINEL FAILOVER mid-flow: the replica takes over, nothing is recorded twice or lost', async () => {
    const firstMaster = await sentinel.masterPort();
    const outcome = await runUsageFlow({
      redisUrl: sentinel.url,
      prefix: 'osb',
      subscriptions: 6,
      hours: 12,
      disruptAt: 10,
      disrupt: () => sentinel.failover(),
    });
    expect(outcome.disruption).to.deep.include({ from: firstMaster });
    expect(await sentinel.masterPort()).to.not.equal(firstMaster);
    expectExactlyOnce(outcome);
  });
});
