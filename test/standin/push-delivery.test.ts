import { expect } from 'chai';
import { freePort, waitFor } from '../support/wait.js';
import {
  startCallbackReceiver,
  type CallbackReceiver,
  type ReceivedCallback,
} from './support/callback-receiver.js';
import {
  JSON_CONTENT,
  CREATED_BY,
  createAccount,
  expectSpecConformance,
  startHarness,
  type StandinHarness,
  type TestTenant,
} from './support/standin-harness.js';

/** Contract §2.2, §2.5 and §9 item 6: the callback request and Kill Bill's retry schedule, seen from the callback. */
describe('Kill Bill stand-in: push delivery and retries', () => {
  const RETRIES = [40, 80, 120];
  let h: StandinHarness;
  let receiver: CallbackReceiver;

  beforeEach(async () => {
    h = await startHarness({ retrySchedule: RETRIES });
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

  const creationsAt = (r: CallbackReceiver): ReceivedCallback[] =>
    r.received.filter((x) => x.body.eventType === 'ACCOUNT_CREATION');
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
    const attempts = await waitFor('delivery after retries', () => {
      const got = creationsAt(receiver);
      return got.length === 3 ? got : undefined;
    });
    const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at);
    expect(gaps[0]).to.be.at.least(RETRIES[0]!);
    expect(gaps[1]).to.be.at.least(RETRIES[1]!);
  });

  it('gives up after the last retry: 1 + N attempts, none while a later event runs its whole schedule', async () => {
    receiver.answer = () => ({ status: 503 });
    const t = await tenantWithCallback();
    const first = await createAccount(t.kb);
    const of = (accountId: string) => creationsAt(receiver).filter((r) => r.body.accountId === accountId);
    await waitFor('every attempt of the first event', () => of(first).length === 1 + RETRIES.length);
    const second = await createAccount(t.kb);
    await waitFor('every attempt of the second event', () => of(second).length === 1 + RETRIES.length, {
      timeoutMs: 5000,
    });
    expect(of(first)).to.have.length(1 + RETRIES.length);
  });

  it('retries on connection refused until the callback comes up', async () => {
    const port = await freePort();
    const t = await tenantWithCallback(`http://127.0.0.1:${port}/late`);
    await createAccount(t.kb);
    // First attempts go out in event order, so this one arrives only after the refused creation.
    await t.kb.tenants.registerPushNotificationCallback(
      CREATED_BY,
      receiver.url,
      undefined,
      undefined,
      JSON_CONTENT,
    );
    await waitFor('the later event', () => receiver.eventTypes().includes('TENANT_CONFIG_CHANGE'));
    const late = await startCallbackReceiver(port, '/late');
    try {
      await waitFor('delivery once listening', () => late.eventTypes().includes('ACCOUNT_CREATION'));
      expect(receiver.eventTypes()).to.not.include('ACCOUNT_CREATION');
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
    await waitFor('delivery after a redirect', () => creationsAt(receiver).length === 2);
    expect(receiver.received.some((r) => r.path === '/elsewhere')).to.equal(false);
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
    await waitFor('first failure', () => creationsAt(receiver).length === 1);
    const replacement = await startCallbackReceiver();
    try {
      await t.kb.tenants.registerPushNotificationCallback(
        CREATED_BY,
        replacement.url,
        undefined,
        undefined,
        JSON_CONTENT,
      );
      await waitFor('the replacement hears of itself', () => replacement.received.length === 1);
      await waitFor('retry delivered to the old URL', () => creationsAt(receiver).length === 2);
      expect(replacement.eventTypes()).to.deep.equal(['TENANT_CONFIG_CHANGE']);
    } finally {
      await replacement.close();
    }
  });
});
