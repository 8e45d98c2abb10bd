import { expect } from 'chai';
import { freePort, waitFor } from '../support/wait.js';
import { startCallbackReceiver, type CallbackReceiver } from './support/callback-receiver.js';
import {
  JSON_CONTENT,
  CREATED_BY,
  createAccount,
  expectSpecConformance,
  startHarness,
  type StandinHarness,
  type TestTenant,
} from './support/standin-harness.js';

/** Contract §2.2, §2.5 and §9 item 6: the callback request, its timeout, and Kill Bill's retry schedule. */
describe('Kill Bill stand-in: push delivery and retries', () => {
  const RETRIES = [40, 80, 120];
  let h: StandinHarness;
  let receiver: CallbackReceiver;

  beforeEach(async () => {
    h = await startHarness({ retrySchedule: RETRIES, deliveryTimeoutMs: 150 });
    receiver = await startCallbackReceiver();
  });
  afterEach(async () => {
    expectSpecConformance(h.traffic);
    await h.close();
    await receiver.close();
  });

  async function tenantWithCallback(url = receiver.url): Promise<TestTenant> {
    const t = await h.newTenant();
    await t.kb.tenants.registerPushNotificationCallback(CREATED_BY, url, undefined, undefined, JSON_CONTENT);
    return t;
  }

  const accountCreations = (): PushNotificationView[] =>
    h.standin.control.notifications().filter((n) => n.body.eventType === 'ACCOUNT_CREATION');
  type PushNotificationView = ReturnType<StandinHarness['standin']['control']['notifications']>[number];
  /** Which ACCOUNT_CREATION request this is (1-based); the registration event is not counted. */
  const creationAttempt = (): number => receiver.eventTypes().filter((e) => e === 'ACCOUNT_CREATION').length;

  it('POSTs exactly five keys in order, nulls written, with Kill Bill headers', async () => {
    const t = await tenantWithCallback();
    const accountId = await createAccount(t.kb);
    const got = await waitFor('ACCOUNT_CREATION', () =>
      receiver.received.find((r) => r.body.eventType === 'ACCOUNT_CREATION'),
    );
    expect(got.rawBody).to.equal(
      `{"eventType":"ACCOUNT_CREATION","accountId":"${accountId}","objectType":"ACCOUNT","objectId":"${accountId}","metaData":null}`,
    );
    expect(got.headers['content-type']).to.equal('application/json; charset=UTF-8');
    expect(got.headers['user-agent']).to.equal('KillBill/1.0');
    expect(got.headers['content-length']).to.equal(String(Buffer.byteLength(got.rawBody)));
    expect(got.headers['transfer-encoding']).to.equal(undefined);
    expect(got.headers.authorization).to.equal(undefined);
  });

  it('retries after a 500 on the schedule, counting each delay from the failed attempt', async () => {
    receiver.answer = () => ({ status: creationAttempt() <= 2 ? 500 : 200 });
    const t = await tenantWithCallback();
    await createAccount(t.kb);
    const n = await waitFor('delivery after retries', () =>
      accountCreations().find((x) => x.state === 'delivered'),
    );
    expect(n.attempts.map((a) => a.status)).to.deep.equal([500, 500, 200]);
    const gaps = n.attempts.slice(1).map((a, i) => a.at.getTime() - n.attempts[i]!.at.getTime());
    expect(gaps[0]).to.be.at.least(RETRIES[0]!);
    expect(gaps[1]).to.be.at.least(RETRIES[1]!);
  });

  it('gives up after the last retry: 1 + N attempts, then nothing more', async () => {
    receiver.answer = () => ({ status: 503 });
    const t = await tenantWithCallback();
    await createAccount(t.kb);
    const n = await waitFor('give-up', () => accountCreations().find((x) => x.state === 'gave-up'), {
      timeoutMs: 5000,
    });
    expect(n.attempts).to.have.length(1 + RETRIES.length);
    expect(n.nextAttemptAt).to.equal(null);
    expect(receiver.received.filter((r) => r.body.eventType === 'ACCOUNT_CREATION')).to.have.length(
      1 + RETRIES.length,
    );
  });

  it('treats a timeout as a failure and retries (at least once: the slow answer may still have been processed)', async () => {
    receiver.answer = () => (creationAttempt() === 1 ? { status: 200, delayMs: 1000 } : { status: 200 });
    const t = await tenantWithCallback();
    await createAccount(t.kb);
    const n = await waitFor('delivery after a timeout', () =>
      accountCreations().find((x) => x.state === 'delivered'),
    );
    expect(n.attempts[0]?.error).to.match(/timeout after 150 ms/);
    expect(n.attempts[1]?.status).to.equal(200);
    expect(receiver.received.filter((r) => r.body.eventType === 'ACCOUNT_CREATION')).to.have.length(2);
  });

  it('retries on connection refused until the callback comes up', async () => {
    const port = await freePort();
    const t = await tenantWithCallback(`http://127.0.0.1:${port}/late`);
    await createAccount(t.kb);
    await waitFor('a refused attempt', () =>
      accountCreations()[0]?.attempts[0]?.error?.includes('ECONNREFUSED'),
    );
    const late = await startCallbackReceiver(port, '/late');
    try {
      const n = await waitFor('delivery once listening', () =>
        accountCreations().find((x) => x.state === 'delivered'),
      );
      expect(n.attempts[0]?.error).to.match(/ECONNREFUSED/);
      expect(late.eventTypes()).to.include('ACCOUNT_CREATION');
    } finally {
      await late.close();
    }
  });

  it('counts a redirect as a failure and does not follow it', async () => {
    receiver.answer = (_n, req) =>
      req.path === '/elsewhere' || creationAttempt() !== 1
        ? { status: 200 }
        : { status: 302, headers: { Location: '/elsewhere' } };
    const t = await tenantWithCallback();
    await createAccount(t.kb);
    const n = await waitFor('delivery after a redirect', () =>
      accountCreations().find((x) => x.state === 'delivered'),
    );
    expect(n.attempts.map((a) => a.status)).to.deep.equal([302, 200]);
    expect(receiver.received.some((r) => r.path === '/elsewhere')).to.equal(false);
  });

  it('holds deliveries while stopped: the callback hears nothing', async () => {
    const t = await tenantWithCallback();
    await waitFor('registration event', () => receiver.received.length === 1);
    h.standin.control.stopDelivery();
    await createAccount(t.kb);
    await waitFor('the creation is queued', () => accountCreations().length === 1);
    expect(accountCreations()[0]?.state).to.equal('pending');
    expect(accountCreations()[0]?.attempts).to.have.length(0);
    expect(receiver.eventTypes()).to.deep.equal(['TENANT_CONFIG_CHANGE']);
  });

  it("sends each tenant's events to that tenant's callback only", async () => {
    const other = await startCallbackReceiver();
    try {
      const a = await tenantWithCallback();
      const b = await tenantWithCallback(other.url);
      const accountA = await createAccount(a.kb);
      const accountB = await createAccount(b.kb);
      await waitFor(
        'both deliveries',
        () =>
          receiver.eventTypes().includes('ACCOUNT_CREATION') &&
          other.eventTypes().includes('ACCOUNT_CREATION'),
      );
      expect(receiver.received.map((r) => r.body.accountId))
        .to.include(accountA)
        .and.not.include(accountB);
      expect(other.received.map((r) => r.body.accountId))
        .to.include(accountB)
        .and.not.include(accountA);
    } finally {
      await other.close();
    }
  });

  it('keeps sending queued retries to the old URL after the callback is replaced', async () => {
    receiver.answer = () => ({ status: creationAttempt() === 1 ? 500 : 200 });
    const t = await tenantWithCallback();
    await createAccount(t.kb);
    await waitFor('first failure', () => accountCreations()[0]?.attempts.length === 1);
    const replacement = await startCallbackReceiver();
    try {
      await t.kb.tenants.registerPushNotificationCallback(
        CREATED_BY,
        replacement.url,
        undefined,
        undefined,
        JSON_CONTENT,
      );
      await waitFor('retry delivered', () => accountCreations()[0]?.state === 'delivered');
      expect(accountCreations()[0]?.url).to.equal(receiver.url);
      expect(replacement.eventTypes()).to.deep.equal(['TENANT_CONFIG_CHANGE']);
    } finally {
      await replacement.close();
    }
  });
});
