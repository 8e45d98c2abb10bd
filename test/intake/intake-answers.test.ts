import { expect } from 'chai';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Queue } from 'bullmq';
import type { ApiService } from '../../src/app/api-service.js';
import type { RedisServer } from '../support/redis-server.js';
import { startIntakeService, type IntakeService } from '../support/intake-service.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { waitFor } from '../support/wait.js';

const account = randomUUID();
const creation = {
  eventType: 'ACCOUNT_CREATION',
  accountId: account,
  objectType: 'ACCOUNT',
  objectId: account,
  metaData: null,
};

describe('intake: answers to every kind of request', () => {
  let intake: IntakeService;
  let redis: RedisServer;
  let api: ApiService;
  let queue: Queue;
  let base: string;
  const path = `/killbill/notifications?token=${TEST_TOKEN}`;

  before(async () => {
    intake = await startIntakeService({ KILLBILL_EXTRA_TENANTS: '[{"apiKey":"acme","apiSecret":"s"}]' });
    ({ redis, api, queue, base } = intake);
  });
  after(async () => {
    await intake?.close();
  });
  beforeEach(async () => {
    await redis.resume();
    await queue.obliterate({ force: true });
  });

  it('401 without the token, or with a wrong one, before reading the body', async () => {
    await request(base).post('/killbill/notifications').send(creation).expect(401);
    const res = await request(base).post('/killbill/notifications?token=nope').send(creation).expect(401);
    expect(res.body).to.deep.equal({ error: 'missing or wrong callback token' });
    expect(await queue.count()).to.equal(0);
  });

  it('415 for a body that is not application/json', async () => {
    const res = await request(base).post(path).set('Content-Type', 'text/plain').send('hello').expect(415);
    expect(res.body.error).to.match(/application\/json/);
  });

  it('413 for a body over 64 KB', async () => {
    const big = { ...creation, metaData: JSON.stringify({ pad: 'x'.repeat(70_000) }) };
    await request(base).post(path).send(big).expect(413);
  });

  const malformed: Array<[string, unknown, RegExp]> = [
    ['not JSON', '{"eventType":', /not valid JSON/],
    ['a missing key', { ...creation, metaData: undefined }, /missing key\(s\): metaData/],
    ['an extra key', { ...creation, tenantId: 'x' }, /unexpected key\(s\): tenantId/],
    [
      'an event type that is no Kill Bill name',
      { ...creation, eventType: 'account exploded!' },
      /not a Kill Bill event type name/,
    ],
    // Names a plain object inherits: they once found Object.prototype's and answered 500.
    ...['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty'].map(
      (name): [string, unknown, RegExp] => [
        `the event type ${name}`,
        { ...creation, eventType: name },
        /not a Kill Bill event type name/,
      ],
    ),
    [
      'an unknown event type with an object type that is no Kill Bill name',
      { ...creation, eventType: 'ACCOUNT_EXPLODED', objectType: 'x' },
      /not a Kill Bill object type name/,
    ],
    [
      'a wrong object type',
      { ...creation, objectType: 'INVOICE' },
      /objectType of ACCOUNT_CREATION must be ACCOUNT/,
    ],
    ['an id that is not a UUID', { ...creation, accountId: '42' }, /accountId must be a UUID or null/],
    [
      'metaData that is not a string',
      { ...creation, metaData: { a: 1 } },
      /metaData must be null or a string/,
    ],
    ['metaData that is not JSON', { ...creation, metaData: '{nope' }, /metaData is not valid JSON/],
    [
      'subscription metaData without actionType',
      {
        eventType: 'SUBSCRIPTION_CREATION',
        accountId: account,
        objectType: 'SUBSCRIPTION',
        objectId: randomUUID(),
        metaData: '{"bundleExternalKey":"k"}',
      },
      /actionType must be EFFECTIVE or REQUESTED/,
    ],
  ];
  for (const [what, body, reason] of malformed) {
    it(`400 with a reason for ${what}`, async () => {
      const req = request(base).post(path).set('Content-Type', 'application/json');
      const res = await req.send(typeof body === 'string' ? body : JSON.stringify(body)).expect(400);
      expect(res.body.error).to.equal('malformed notification');
      expect(res.body.reason).to.match(reason);
      expect(await queue.count()).to.equal(0);
    });
  }

  it('404 for a tenant that is not configured; 200 for one that is', async () => {
    await request(base)
      .post(`/killbill/notifications/stranger?token=${TEST_TOKEN}`)
      .send(creation)
      .expect(404);
    await request(base).post(`/killbill/notifications/acme?token=${TEST_TOKEN}`).send(creation).expect(200);
    const [job] = await queue.getJobs(['waiting']);
    expect(job!.data).to.deep.include({ kind: 'account', tenantApiKey: 'acme', accountId: account });
  });

  it('acknowledges events it does not act on with 200, without queueing them', async () => {
    const invoice = {
      eventType: 'INVOICE_CREATION',
      accountId: account,
      objectType: 'INVOICE',
      objectId: randomUUID(),
      metaData: null,
    };
    const res = await request(base).post(path).send(invoice).expect(200);
    expect(res.body).to.deep.equal({ status: 'ignored', eventType: 'INVOICE_CREATION' });
    expect(await queue.count()).to.equal(0);
    const metrics = await request(base).get('/metrics').expect(200);
    expect(metrics.text).to.match(
      /bridge_notifications_total\{event_type="INVOICE_CREATION",outcome="ignored"\} 1/,
    );
  });

  it('acknowledges a well-formed event of a type it does not know (a newer Kill Bill) with 200, counted and not queued', async () => {
    const res = await request(base)
      .post(path)
      .send({ ...creation, eventType: 'ACCOUNT_EXPLODED', objectType: 'ACCOUNT' })
      .expect(200);
    expect(res.body).to.deep.equal({
      status: 'ignored',
      eventType: 'ACCOUNT_EXPLODED',
      reason: 'unknown event type',
    });
    expect(await queue.count()).to.equal(0);
    const metrics = await request(base).get('/metrics').expect(200);
    expect(metrics.text).to.match(/bridge_notifications_total\{event_type="unknown",outcome="ignored"\} 1/);
  });

  it('a catalog change queues a reconcile of the tenant', async () => {
    const change = {
      eventType: 'TENANT_CONFIG_CHANGE',
      accountId: null,
      objectType: 'TENANT_KVS',
      objectId: randomUUID(),
      metaData: '{"key":"CATALOG"}',
    };
    await request(base).post(path).send(change).expect(200);
    const [job] = await queue.getJobs(['waiting']);
    expect(job!.name).to.equal('reconcile');
    expect(job!.data).to.deep.include({ kind: 'reconcile', tenantApiKey: 'bob' });
  });

  it('takes a tenant key change whose metaData is the bare key, as Kill Bill 0.22 sends it', async () => {
    const change = {
      eventType: 'TENANT_CONFIG_CHANGE',
      accountId: null,
      objectType: 'TENANT_KVS',
      objectId: randomUUID(),
      metaData: 'CATALOG',
    };
    await request(base).post(path).send(change).expect(200);
    const [job] = await queue.getJobs(['waiting']);
    expect(job!.name).to.equal('reconcile');
    // Anything else that is not JSON is still refused.
    const res = await request(base)
      .post(path)
      .send({ ...change, metaData: 'not a key' })
      .expect(400);
    expect(res.body.reason).to.match(/metaData is not valid JSON/);
  });

  it('the same event delivered 3 times gives one job', async () => {
    for (let i = 0; i < 3; i++) await request(base).post(path).send(creation).expect(200);
    const counts = await queue.getJobCounts('waiting', 'delayed', 'active');
    expect(counts).to.deep.include({ waiting: 1, delayed: 0, active: 0 });
  });

  it('notifications arriving together are each answered with their own job, already in Redis', async () => {
    const accounts = Array.from({ length: 30 }, () => randomUUID());
    const answers = await Promise.all(
      accounts.map((id) =>
        request(base)
          .post(path)
          .send({ ...creation, accountId: id, objectId: id })
          .expect(200),
      ),
    );
    for (const [i, res] of answers.entries()) {
      expect(res.body.status).to.equal('queued');
      expect((await queue.getJob(res.body.jobId))?.data.accountId).to.equal(accounts[i]);
    }
    expect(await queue.count()).to.equal(accounts.length);
  });

  it('503 to every notification arriving together while Redis is down', async () => {
    await redis.stop();
    const statuses = await Promise.all(
      Array.from({ length: 5 }, async () => (await request(base).post(path).send(creation)).status),
    );
    expect(statuses).to.deep.equal([503, 503, 503, 503, 503]);
  });

  it('503 while Redis is down; the retried delivery is accepted once it is back, and nothing is missing', async () => {
    await redis.stop();
    const res = await request(base).post(path).send(creation).expect(503);
    expect(res.body.error).to.match(/retry later/);
    await redis.resume();
    await waitFor(
      'the intake takes notifications again',
      async () => (await request(base).post(path).send(creation)).status === 200,
    );
    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.map((j) => j.data.accountId)).to.deep.equal([account]);
  });

  it('handles a request carrying Kill Bill’s Upgrade: h2c headers as plain HTTP/1.1', async () => {
    const body = JSON.stringify(creation);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(api.port, '127.0.0.1', () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
            `HTTP2-Settings: AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA\r\nContent-Type: application/json; charset=UTF-8\r\n` +
            `User-Agent: KillBill/1.0\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      });
      let data = '';
      socket.on('data', (d) => {
        data += d.toString();
        if (data.includes('\r\n\r\n') && data.includes('}')) socket.end();
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).to.match(/^HTTP\/1\.1 200 OK/);
    expect(raw).to.include('"status":"queued"');
    expect(await queue.count()).to.equal(1);
  });

  it('/healthz answers while alive; /readyz names each dependency, and what is wrong with it', async () => {
    await request(base).get('/healthz').expect(200, { status: 'alive' });
    const ready = await request(base).get('/readyz').expect(200);
    expect(ready.body).to.deep.equal({
      ready: true,
      down: [],
      checks: { redis: 'ok', 'killbill callback': 'ok' },
    });
    await redis.stop();
    const lost = await request(base).get('/readyz').expect(503);
    expect(lost.body).to.deep.include({ ready: false, down: ['redis'] });
    expect(lost.body.checks['killbill callback']).to.equal('ok');
    // Once a reconnect has failed, it says why.
    const refused = `Redis at ${redis.url} is unreachable (connect ECONNREFUSED)`;
    await waitFor('/readyz says why Redis is down', async () => {
      const res = await request(base).get('/readyz').expect(503);
      return res.body.checks.redis === refused;
    });
  });
});
