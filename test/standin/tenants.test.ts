import { expect } from 'chai';
import type { AxiosError } from 'axios';
import { waitFor } from '../support/wait.js';
import { startCallbackReceiver, type CallbackReceiver } from './support/callback-receiver.js';
import {
  CREATED_BY,
  JSON_CONTENT,
  expectSpecConformance,
  idFromLocation,
  raw,
  startHarness,
  type StandinHarness,
} from './support/standin-harness.js';

/** Contract §9 items 4–5: tenants and the push-notification callback key. */
describe('Kill Bill stand-in: tenants and callback registration', () => {
  let h: StandinHarness;
  let receiver: CallbackReceiver;

  before(async () => {
    h = await startHarness({ retrySchedule: [] });
    receiver = await startCallbackReceiver();
  });
  after(async () => {
    await h.close();
    await receiver.close();
  });
  afterEach(() => expectSpecConformance(h.traffic));

  it('creates a tenant with basic auth only: 201 and Location /1.0/kb/tenants/{id}', async () => {
    const res = await h.admin.tenants.createTenant({ apiKey: 'bob-1', apiSecret: 'lazar' }, CREATED_BY);
    expect(res.status).to.equal(201);
    expect(res.headers.location).to.equal(`${h.standin.url}/1.0/kb/tenants/${idFromLocation(res)}`);
    expect(res.config.headers['X-Killbill-ApiKey']).to.equal(undefined);
  });

  it('refuses a duplicate api key with 409 TenantApiException 20000', async () => {
    await h.admin.tenants.createTenant({ apiKey: 'bob-2', apiSecret: 'lazar' }, CREATED_BY);
    const err = (await h.admin.tenants
      .createTenant({ apiKey: 'bob-2', apiSecret: 'other' }, CREATED_BY)
      .catch((e: unknown) => e)) as AxiosError<{ className: string; code: number }>;
    expect(err.response?.status).to.equal(409);
    expect(err.response?.data.className).to.equal('org.killbill.billing.tenant.api.TenantApiException');
    expect(err.response?.data.code).to.equal(20000);
  });

  it('finds a tenant by id and by api key, never returning the secret', async () => {
    const res = await h.admin.tenants.createTenant(
      { apiKey: 'bob-3', apiSecret: 'lazar', externalKey: 'ext-3' },
      CREATED_BY,
    );
    const tenantId = idFromLocation(res);
    const expected = { tenantId, externalKey: 'ext-3', apiKey: 'bob-3', apiSecret: null, auditLogs: [] };
    expect((await h.admin.tenants.getTenant(tenantId)).data).to.deep.equal(expected);
    expect((await h.admin.tenants.getTenantByApiKey('bob-3')).data).to.deep.equal(expected);
  });

  it('answers 415 to the client as published (form Content-Type), like real Kill Bill (client-js#146)', async () => {
    const t = await h.newTenant();
    const err = (await t.kb.tenants
      .registerPushNotificationCallback(CREATED_BY, receiver.url)
      .catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(415);
    expect(err.response?.data).to.equal('');
    const res = await raw(
      h.standin,
      'POST',
      `/1.0/kb/tenants/registerNotificationCallback?cb=${encodeURIComponent(receiver.url)}`,
      {
        tenant: t,
        headers: { 'Content-Type': 'text/plain', 'X-Killbill-CreatedBy': CREATED_BY },
      },
    );
    expect(res.status).to.equal(415);
  });

  it('accepts registration with application/json or with no Content-Type at all', async () => {
    const t = await h.newTenant();
    const res = await t.kb.tenants.registerPushNotificationCallback(
      CREATED_BY,
      receiver.url,
      undefined,
      undefined,
      JSON_CONTENT,
    );
    expect(res.status).to.equal(201);
    expect(res.data).to.equal('');
    expect(res.headers.location).to.equal(`${h.standin.url}/1.0/kb/tenants/registerNotificationCallback`);
    const bare = await raw(
      h.standin,
      'POST',
      `/1.0/kb/tenants/registerNotificationCallback?cb=${encodeURIComponent(receiver.url)}`,
      {
        tenant: t,
        headers: { 'X-Killbill-CreatedBy': CREATED_BY },
      },
    );
    expect(bare.status).to.equal(201);
  });

  it('keeps one URL per tenant: registering again replaces it; GET lists it; DELETE clears it', async () => {
    const t = await h.newTenant();
    const first = 'http://127.0.0.1:1/first?token=a&b=c';
    await t.kb.tenants.registerPushNotificationCallback(
      CREATED_BY,
      first,
      undefined,
      undefined,
      JSON_CONTENT,
    );
    expect((await t.kb.tenants.getPushNotificationCallbacks()).data).to.deep.equal({
      key: 'PUSH_NOTIFICATION_CB',
      values: [first],
      auditLogs: [],
    });
    await t.kb.tenants.registerPushNotificationCallback(
      CREATED_BY,
      receiver.url,
      undefined,
      undefined,
      JSON_CONTENT,
    );
    expect((await t.kb.tenants.getPushNotificationCallbacks()).data.values).to.deep.equal([receiver.url]);
    const del = await t.kb.tenants.deletePushNotificationCallbacks(CREATED_BY);
    expect(del.status).to.equal(204);
    expect((await t.kb.tenants.getPushNotificationCallbacks()).data.values).to.deep.equal([]);
  });

  it('sends TENANT_CONFIG_CHANGE {"key":"PUSH_NOTIFICATION_CB"} to the newly registered callback', async () => {
    const t = await h.newTenant();
    const url = `${receiver.url}/${t.tenantId}`;
    await t.kb.tenants.registerPushNotificationCallback(CREATED_BY, url, undefined, undefined, JSON_CONTENT);
    const got = await waitFor('the registration event', () =>
      receiver.received.find((r) => r.path.endsWith(t.tenantId)),
    );
    expect(got.body).to.deep.include({
      eventType: 'TENANT_CONFIG_CHANGE',
      accountId: null,
      objectType: 'TENANT_KVS',
    });
    expect(got.body.objectId).to.match(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(String(got.body.metaData))).to.deep.equal({ key: 'PUSH_NOTIFICATION_CB' });
  });
});
