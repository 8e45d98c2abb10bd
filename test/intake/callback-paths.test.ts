import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Queue } from 'bullmq';
import { silentLogger } from '../../src/logging/logger.js';
import { ApiService } from '../../src/app/api-service.js';
import { callbackPathOf } from '../../src/intake/intake-handler.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { RedisServer } from '../support/redis-server.js';
import { testConfig, TEST_TOKEN } from '../support/bridge-config.js';

const creation = () => {
  const account = randomUUID();
  return {
    eventType: 'ACCOUNT_CREATION',
    accountId: account,
    objectType: 'ACCOUNT',
    objectId: account,
    metaData: null,
  };
};

describe('intake: which paths are the callback', () => {
  it('reads the tenant from the path as Express routing did: any case, a trailing slash, percent-decoded', () => {
    expect(callbackPathOf('/killbill/notifications')).to.deep.equal({});
    expect(callbackPathOf('/killbill/notifications/')).to.deep.equal({});
    expect(callbackPathOf('/KillBill/Notifications')).to.deep.equal({});
    expect(callbackPathOf('/killbill/notifications/acme')).to.deep.equal({ tenantApiKey: 'acme' });
    expect(callbackPathOf('/killbill/notifications/acme/')).to.deep.equal({ tenantApiKey: 'acme' });
    expect(callbackPathOf('/killbill/notifications/a%20b')).to.deep.equal({ tenantApiKey: 'a b' });
    for (const other of [
      '/',
      '/killbill',
      '/killbill/notificationsX',
      '/killbill/notifications/a/b',
      '/x/killbill/notifications',
    ]) {
      expect(callbackPathOf(other), other).to.equal(undefined);
    }
    expect(() => callbackPathOf('/killbill/notifications/%E0%A4%A')).to.throw(/not a valid URI component/);
  });

  describe('over HTTP', () => {
    let redis: RedisServer;
    let api: ApiService;
    let queue: Queue;
    let base: string;

    before(async () => {
      redis = await RedisServer.start();
      const config = testConfig({
        REDIS_URL: redis.url,
        BRIDGE_REGISTER_CALLBACK: 'false',
        KILLBILL_EXTRA_TENANTS: '[{"apiKey":"acme","apiSecret":"s"}]',
      });
      api = new ApiService({ config, logger: silentLogger, port: 0, host: '127.0.0.1' });
      await api.start();
      base = `http://127.0.0.1:${api.port}`;
      queue = new Queue(REGISTRY_QUEUE, { connection: { url: redis.url }, prefix: config.redis.prefix });
    });
    after(async () => {
      await queue?.close();
      await api?.stop();
      await redis?.close();
    });

    it('queues what is posted to the default or a tenant path, with or without a trailing slash', async () => {
      const paths = ['/killbill/notifications/', '/KillBill/Notifications', '/killbill/notifications/acme/'];
      for (const path of paths) {
        const res = await request(base).post(`${path}?token=${TEST_TOKEN}`).send(creation()).expect(200);
        expect(res.body.status, path).to.equal('queued');
      }
      expect(await queue.count()).to.equal(paths.length);
    });

    it('400 with a reason, not 500, for a tenant segment that is no valid percent-encoding', async () => {
      const res = await request(base)
        .post(`/killbill/notifications/%E0%A4%A?token=${TEST_TOKEN}`)
        .send(creation())
        .expect(400);
      expect(res.body.error).to.match(/tenant in the path is not a valid URI component/);
    });

    it('404 for other methods and for paths below or beside the callback', async () => {
      await request(base).get(`/killbill/notifications?token=${TEST_TOKEN}`).expect(404);
      for (const path of ['/killbill/notifications/acme/extra', '/killbill/notificationsX']) {
        const res = await request(base).post(`${path}?token=${TEST_TOKEN}`).send(creation()).expect(404);
        expect(res.body, path).to.deep.equal({ error: 'not found' });
      }
    });
  });
});
