import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../../src/jobs/redis-connection.js';
import { MASTER_NAME, RedisSentinelSetup } from '../support/redis-sentinel.js';
import { waitFor } from '../support/wait.js';
import { runUsageFlow, type UsageFlowOutcome } from './usage-flow.js';

/** Every subscription holds exactly its project's total, and its one job completed once. */
function expectExactlyOnce(outcome: UsageFlowOutcome): void {
  expect(outcome.failedReasons, 'failed jobs').to.deep.equal([]);
  expect(outcome.finishedAfterDisruption, 'jobs that ran on through the failover').to.be.greaterThan(0);
  expect(outcome.readyEvents, 'the bridge reconnected to the new master').to.be.greaterThan(1);
  expect(outcome.recordedCents).to.deep.equal(outcome.expectedCents);
  for (const a of outcome.accounts) {
    expect(outcome.completedJobs.get(a.subscriptionId), `completed jobs of ${a.subscriptionId}`).to.equal(1);
  }
}

/** Clients subscribed to `+switch-master` on a Sentinel: the connection's failover detectors. */
async function detectorsOn(sentinel: RedisSentinelSetup, index: number): Promise<number> {
  const list = String(await sentinel.sentinels[index]!.command('CLIENT', 'LIST'));
  return list.split('\n').filter((line) => / sub=[1-9]/.test(line)).length;
}

describe('Redis Sentinel: failovers under a running bridge (real master, replica and three Sentinels)', function () {
  this.timeout(10 * 60_000);
  let sentinel: RedisSentinelSetup;

  beforeEach(async () => {
    sentinel = await RedisSentinelSetup.start();
  });
  afterEach(async () => {
    await sentinel?.close();
  });

  it('a +switch-master arriving while the connection reconnects does not end it (ioredis 5.11 would give it up)', async () => {
    // The stopped Sentinel must hold the reconnect for the whole failover, not hand it on after 5 s.
    const redis = createRedisConnection(`${sentinel.url}?sentinelTimeout=120000`, 'worker') as Redis;
    let ended = false;
    redis.on('end', () => (ended = true));
    try {
      await redis.set('before', '1');
      await waitFor('the failover detector is subscribed on every Sentinel', async () => {
        for (let i = 0; i < 3; i++) if ((await detectorsOn(sentinel, i)) === 0) return false;
        return true;
      });
      const from = await sentinel.masterPort();
      const id = Number(await redis.client('ID'));
      // The reconnect asks the first Sentinel of the URL first: stopped, it holds the reconnect open.
      sentinel.sentinels[0]!.pause();
      try {
        await sentinel.nodeAt(from).command('CLIENT', 'KILL', 'ID', id);
        await waitFor(
          'the connection is reconnecting through the stopped Sentinel',
          () => redis.status === 'connecting',
        );
        await sentinel.sentinels[1]!.command('SENTINEL', 'FAILOVER', MASTER_NAME);
        await waitFor(
          'the two running Sentinels name the new master',
          async () =>
            (await sentinel.masterPortOf(sentinel.sentinels[1]!)) !== from &&
            (await sentinel.masterPortOf(sentinel.sentinels[2]!)) !== from,
          { timeoutMs: 60_000, intervalMs: 100 },
        );
        // The race is on only if the reconnect is still waiting when +switch-master went out.
        expect(redis.status, 'the connection while the failover was announced').to.equal('connecting');
      } finally {
        sentinel.sentinels[0]!.resume();
      }
      await waitFor(
        'the connection writes to the new master',
        async () => (await redis.set('after', '1')) === 'OK',
        {
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
      expect(ended, 'the connection ended').to.equal(false);
      const to = await sentinel.masterPort();
      expect(to).to.not.equal(from);
      expect(await sentinel.nodeAt(to).command('GET', 'after')).to.equal('1');
    } finally {
      redis.disconnect();
    }
  });

  it('a Sentinel that accepts connections but answers nothing is passed over after sentinelTimeout', async () => {
    const redis = createRedisConnection(`${sentinel.url}?sentinelTimeout=1000`, 'worker') as Redis;
    try {
      await redis.set('before', '1');
      const master = await sentinel.masterPort();
      const id = Number(await redis.client('ID'));
      // The first Sentinel of the URL, the one a reconnect asks first, hangs (as a paused machine would).
      sentinel.sentinels[0]!.pause();
      try {
        await sentinel.nodeAt(master).command('CLIENT', 'KILL', 'ID', id);
        await waitFor('the connection reconnects', () => redis.status !== 'ready');
        await waitFor('the connection writes again, the master found through another Sentinel', async () => {
          return (await redis.set('after', '1')) === 'OK';
        });
        expect(await sentinel.nodeAt(master).command('GET', 'after')).to.equal('1');
      } finally {
        sentinel.sentinels[0]!.resume();
      }
    } finally {
      redis.disconnect();
    }
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

  it('the master killed mid-flow: Sentinel promotes the replica, nothing is recorded twice or lost', async () => {
    const master = await sentinel.masterPort();
    const outcome = await runUsageFlow({
      redisUrl: sentinel.url,
      prefix: 'osb-killed',
      subscriptions: 6,
      hours: 12,
      disruptAt: 10,
      disrupt: () => sentinel.killMaster(),
    });
    expect(outcome.disruption).to.deep.include({ from: master });
    expectExactlyOnce(outcome);
  });
});
