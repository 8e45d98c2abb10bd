import { expect } from 'chai';
import { RedisServer } from './support/redis-server.js';

describe('test harness: real redis-server', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await RedisServer.start();
  });
  after(async () => {
    await redis?.close();
  });

  it('serves real commands on its own loopback port', async () => {
    const c = redis.client();
    try {
      await c.set('k', 'v');
      expect(await c.get('k')).to.equal('v');
      expect(await c.config('GET', 'maxmemory-policy')).to.deep.equal(['maxmemory-policy', 'noeviction']);
    } finally {
      c.disconnect();
    }
  });

  it('stops by PID and starts again on the same port', async () => {
    const port = redis.port;
    await redis.stop();
    const c = redis.client();
    c.on('error', () => {});
    await redis.resume();
    expect(redis.port).to.equal(port);
    expect(await c.ping()).to.equal('PONG');
    c.disconnect();
  });
});
