import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { BatchedAdds } from '../../src/jobs/batched-adds.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { createRedisConnection, type RedisClient } from '../../src/jobs/redis-connection.js';
import { REGISTRY_JOB_OPTIONS, type RegistryJobData } from '../../src/jobs/registry-jobs.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const PREFIX = 'batched-enqueue-test';

function accountJob(accountId: string): RegistryJobData {
  return {
    kind: 'account',
    tenantApiKey: 'bob',
    accountId,
    cause: { eventType: 'ACCOUNT_CHANGE', objectType: 'ACCOUNT', objectId: accountId },
  };
}

const optionsFor = (dedupId: string) => ({
  ...REGISTRY_JOB_OPTIONS,
  deduplication: { id: dedupId, keepLastIfActive: true },
});

/**
 * The intake's adds to the registry queue, sent together: the real BullMQ on the producer connection the
 * intake uses, against a real Redis. Each add must resolve only with a job Redis holds, and fail with its
 * whole batch when Redis cannot take it.
 */
describe('intake: adds to the registry queue sent in batches', () => {
  let redis: RedisServer;
  let connection: RedisClient;
  let queue: Queue<RegistryJobData>;

  before(async () => {
    redis = await RedisServer.start();
  });
  beforeEach(async () => {
    await redis.resume();
    connection = createRedisConnection(redis.url, 'producer');
    queue = new Queue<RegistryJobData>(REGISTRY_QUEUE, { connection, prefix: PREFIX });
    await queue.waitUntilReady();
    await queue.obliterate({ force: true });
  });
  afterEach(async () => {
    await queue.close();
    connection.disconnect();
  });
  after(async () => {
    await redis?.close();
  });

  it('adds asked for together each resolve with their own job, already in Redis', async () => {
    const adds = new BatchedAdds(queue, { timeoutMs: 5_000 });
    const accounts = Array.from({ length: 40 }, () => randomUUID());
    const ids = await Promise.all(accounts.map((a) => adds.add('account', accountJob(a), optionsFor(a))));
    expect(new Set(ids).size).to.equal(accounts.length);
    for (const [i, id] of ids.entries()) {
      const job = await queue.getJob(id);
      expect(job?.data).to.deep.include({ accountId: accounts[i] });
    }
    expect(await queue.count()).to.equal(accounts.length);
  });

  it('the same notification added several times in one batch is one job, and every add names it', async () => {
    const adds = new BatchedAdds(queue, { timeoutMs: 5_000 });
    const account = randomUUID();
    const ids = await Promise.all(
      Array.from({ length: 10 }, () => adds.add('account', accountJob(account), optionsFor('same'))),
    );
    expect(new Set(ids).size).to.equal(1);
    expect(await queue.count()).to.equal(1);
  });

  it('a batch larger than maxBatch goes in several pipelines, every add still answered', async () => {
    const adds = new BatchedAdds(queue, { timeoutMs: 5_000, maxBatch: 7 });
    const accounts = Array.from({ length: 30 }, () => randomUUID());
    const ids = await Promise.all(accounts.map((a) => adds.add('account', accountJob(a), optionsFor(a))));
    expect(new Set(ids).size).to.equal(accounts.length);
    expect(await queue.count()).to.equal(accounts.length);
  });

  it('every add of a batch Redis cannot take is refused, and the next batch goes through once it is back', async () => {
    const adds = new BatchedAdds(queue, { timeoutMs: 5_000 });
    await redis.stop();
    const refused = await Promise.allSettled(
      Array.from({ length: 5 }, () => {
        const a = randomUUID();
        return adds.add('account', accountJob(a), optionsFor(a));
      }),
    );
    expect(refused.map((r) => r.status)).to.deep.equal(Array(5).fill('rejected'));
    await redis.resume();
    await waitFor('the producer connection is back', () => connection.status === 'ready');
    const a = randomUUID();
    const id = await adds.add('account', accountJob(a), optionsFor(a));
    expect((await queue.getJob(id))?.data).to.deep.include({ accountId: a });
  });

  it('every add of a batch Redis does not acknowledge in time is refused', async () => {
    const adds = new BatchedAdds(queue, { timeoutMs: 100 });
    const pauser = redis.client();
    try {
      // Redis holds every write for 2 s: the batch cannot be acknowledged within its 100 ms.
      await pauser.call('CLIENT', 'PAUSE', '2000', 'WRITE');
      const late = await Promise.allSettled(
        Array.from({ length: 3 }, () => {
          const a = randomUUID();
          return adds.add('account', accountJob(a), optionsFor(a));
        }),
      );
      for (const r of late) {
        expect(r.status).to.equal('rejected');
        expect((r as PromiseRejectedResult).reason.message).to.match(/did not take the job within 100 ms/);
      }
    } finally {
      await pauser.call('CLIENT', 'UNPAUSE');
      pauser.disconnect();
    }
  });
});
