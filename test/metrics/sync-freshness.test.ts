import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { SyncFreshness } from '../../src/sync/sync-freshness.js';
import { RedisServer } from '../support/redis-server.js';

/** The last successful sync per tenant, as the workers keep it in a real Redis. */
describe('sync freshness: when each tenant was last fully synced', function () {
  let server: RedisServer;
  let redis: Redis;
  let freshness: SyncFreshness;
  const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 12, minute));

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    freshness = new SyncFreshness(redis, 'osb');
  });
  after(async () => {
    redis?.disconnect();
    await server?.close();
  });
  beforeEach(() => server.flush());

  const last = async (tenant = 'bob') => (await freshness.lastSuccess([tenant])).get(tenant);

  it('a tick with nothing due is a success at once', async () => {
    await freshness.due('bob', [], at(0));
    expect(await last()).to.deep.equal(at(0));
    expect(await redis.get('osb:sync:last-success:bob')).to.equal(String(at(0).getTime()));
  });

  it('with subscriptions due, only the last one done makes the success', async () => {
    await freshness.due('bob', ['s1', 's2'], at(0));
    await freshness.done('bob', 's1', at(1));
    expect(await last()).to.equal(undefined);
    await freshness.done('bob', 's2', at(2));
    expect(await last()).to.deep.equal(at(2));
  });

  it('a job that failed for good holds the tenant back until a later tick queues it again and it succeeds', async () => {
    await freshness.due('bob', ['s1', 's2'], at(0));
    await freshness.done('bob', 's1', at(1));
    // s2 failed: no done. The next tick finds it due again (its watermark did not move).
    await freshness.due('bob', ['s2'], at(15));
    expect(await last()).to.equal(undefined);
    await freshness.done('bob', 's2', at(16));
    expect(await last()).to.deep.equal(at(16));
  });

  it('moves forward only, and keeps tenants apart', async () => {
    await freshness.succeeded('bob', at(30));
    await freshness.succeeded('bob', at(10));
    await freshness.due('alice', [], at(5));
    const both = await freshness.lastSuccess(['bob', 'alice', 'carol']);
    expect(Object.fromEntries(both)).to.deep.equal({ bob: at(30), alice: at(5) });
  });
});
