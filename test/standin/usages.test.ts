import { expect } from 'chai';
import type { AxiosError } from 'axios';
import { waitFor } from '../support/wait.js';
import { startCallbackReceiver, type CallbackReceiver } from './support/callback-receiver.js';
import {
  CREATED_BY,
  JSON_CONTENT,
  createAccount,
  createSubscription,
  expectSpecConformance,
  raw,
  startHarness,
  uploadCatalog,
  type StandinHarness,
  type TestTenant,
} from './support/standin-harness.js';

/** Contract §3 and §9 items 8–9: recording and reading consumable usage. */
describe('Kill Bill stand-in: usage', () => {
  let h: StandinHarness;
  let t: TestTenant;
  let receiver: CallbackReceiver;
  let accountId: string;
  let subscriptionId: string;

  before(async () => {
    h = await startHarness();
    receiver = await startCallbackReceiver();
    t = await h.newTenant();
    await uploadCatalog(t.kb);
    await t.kb.tenants.registerPushNotificationCallback(
      CREATED_BY,
      receiver.url,
      undefined,
      undefined,
      JSON_CONTENT,
    );
    accountId = await createAccount(t.kb);
    subscriptionId = await createSubscription(t.kb, accountId, 'cloud-usage', {
      entitlementDate: '2024-01-01',
    });
  });
  after(async () => {
    await h.close();
    await receiver.close();
  });
  afterEach(() => expectSpecConformance(h.traffic));

  const post = (body: unknown, headers: Record<string, string> = { 'X-Killbill-CreatedBy': CREATED_BY }) =>
    raw(h.standin, 'POST', '/1.0/kb/usages', {
      tenant: t,
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('records with 201, empty body, no Location, and emits no event', async () => {
    await waitFor('setup events delivered', () => receiver.eventTypes().includes('SUBSCRIPTION_CREATION'));
    const before = receiver.received.length;
    const res = await t.kb.usage.recordUsage(
      {
        subscriptionId,
        trackingId: 'rec-1',
        unitUsageRecords: [
          { unitType: 'cents', usageRecords: [{ recordDate: '2024-01-15T00:00:00.000Z', amount: 42 }] },
        ],
      },
      CREATED_BY,
    );
    expect(res.status).to.equal(201);
    expect(res.data).to.equal('');
    expect(res.headers.location).to.equal(undefined);
    expect(res.headers['content-type']).to.equal('application/json');
    // Events go out in order: once a later event has arrived, any from the recording would have too.
    await t.kb.accounts.createAccountCustomFields(
      [{ name: 'usage-probe', value: '1' }],
      accountId,
      CREATED_BY,
    );
    await waitFor('the later event', () => receiver.received.length > before);
    expect(receiver.eventTypes().slice(before)).to.deep.equal(['CUSTOM_FIELD_CREATION']);
  });

  it('keeps decimal amounts exact, from the raw number text', async () => {
    const res = await post(
      `{"subscriptionId":"${subscriptionId}","unitUsageRecords":[{"unitType":"gb-hour","usageRecords":[` +
        `{"recordDate":"2024-02-01T10:00:00Z","amount":0.1},{"recordDate":"2024-02-02","amount":0.2},` +
        `{"recordDate":"2024-02-03T00:00:00.000Z","amount":12345678.123456789}]}]}`,
    );
    expect(res.status).to.equal(201);
    const rolled = await raw(
      h.standin,
      'GET',
      `/1.0/kb/usages/${subscriptionId}/gb-hour?startDate=2024-02-01&endDate=2024-03-01`,
      { tenant: t },
    );
    expect(rolled.text).to.contain('"amount":12345678.423456789');
  });

  it('rolls up per unit and for all units over [start, end), echoing DateTimes', async () => {
    await t.kb.usage.recordUsage(
      {
        subscriptionId,
        unitUsageRecords: [
          {
            unitType: 'cents',
            usageRecords: [
              { recordDate: '2024-03-01T00:00:00.000Z', amount: 1 },
              { recordDate: '2024-03-31T23:59:59Z', amount: 2 },
            ],
          },
          { unitType: 'liter', usageRecords: [{ recordDate: '2024-04-01T00:00:00.000Z', amount: 100 }] },
        ],
      },
      CREATED_BY,
    );
    const one = await t.kb.usage.getUsage(subscriptionId, 'cents', '2024-03-01', '2024-04-01');
    expect(one.data).to.deep.equal({
      subscriptionId,
      startDate: '2024-03-01T00:00:00.000Z',
      endDate: '2024-04-01T00:00:00.000Z',
      rolledUpUnits: [{ unitType: 'cents', amount: 3 }],
    });
    const all = await t.kb.usage.getAllUsage(subscriptionId, '2024-03-01', '2024-04-02');
    expect(all.data.rolledUpUnits).to.have.deep.members([
      { unitType: 'cents', amount: 3 },
      { unitType: 'liter', amount: 100 },
    ]);
    const none = await t.kb.usage.getAllUsage(subscriptionId, '2030-01-01', '2030-02-01');
    expect(none.data.rolledUpUnits).to.deep.equal([]);
  });

  it('requires both dates on reads: bare 400 otherwise', async () => {
    const err = (await t.kb.usage
      .getUsage(subscriptionId, 'cents', '2024-03-01')
      .catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(400);
    expect(err.response?.data).to.equal('');
  });

  it('deduplicates on (tenant, subscription, trackingId): 400 code 50000 and nothing of the request stored', async () => {
    const body = (amount: number) => ({
      subscriptionId,
      trackingId: 'batch-7',
      unitUsageRecords: [
        { unitType: 'liter', usageRecords: [{ recordDate: '2024-05-10T12:00:00.000Z', amount }] },
      ],
    });
    await t.kb.usage.recordUsage(body(5), CREATED_BY);
    const err = (await t.kb.usage.recordUsage(body(6), CREATED_BY).catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(400);
    expect(err.response?.data).to.deep.equal({
      className: 'org.killbill.billing.usage.api.UsageApiException',
      code: 50000,
      message: 'A usage record with tracking ID batch-7 already exists',
      causeClassName: null,
      causeMessage: null,
      stackTrace: [],
    });
    const rolled = await t.kb.usage.getUsage(subscriptionId, 'liter', '2024-05-01', '2024-06-01');
    expect(rolled.data.rolledUpUnits).to.deep.equal([{ unitType: 'liter', amount: 5 }]);
    // The same tracking id on another subscription is a different key.
    const other = await createSubscription(
      t.kb,
      (await t.kb.subscriptions.getSubscription(subscriptionId)).data.accountId!,
      'cloud-usage',
    );
    expect((await t.kb.usage.recordUsage({ ...body(1), subscriptionId: other }, CREATED_BY)).status).to.equal(
      201,
    );
    // Without a tracking id there is no deduplication.
    const untracked = { ...body(1), trackingId: undefined };
    await t.kb.usage.recordUsage(untracked, CREATED_BY);
    await t.kb.usage.recordUsage(untracked, CREATED_BY);
  });

  it('validates in the server order: body, then CreatedBy, then the subscription', async () => {
    const unknown = '00000000-0000-4000-8000-000000000001';
    const valid = {
      subscriptionId: unknown,
      unitUsageRecords: [{ unitType: 'x', usageRecords: [{ recordDate: '2024-01-01', amount: 1 }] }],
    };
    const noRecords = await post({ subscriptionId: unknown, unitUsageRecords: [] }, {});
    expect(noRecords.status).to.equal(400);
    expect((noRecords.json() as { message: string }).message).to.equal('json.getUnitUsageRecords() is empty');
    const noAmount = await post(
      {
        subscriptionId: unknown,
        unitUsageRecords: [{ unitType: 'x', usageRecords: [{ recordDate: '2024-01-01' }] }],
      },
      {},
    );
    expect((noAmount.json() as { message: string }).message).to.equal(
      'UsageRecordJson amount needs to be set',
    );
    const noCreatedBy = await post(valid, {});
    expect((noCreatedBy.json() as { message: string }).message).to.equal(
      'Header X-Killbill-CreatedBy needs to be set',
    );
    const unknownSub = await post(valid);
    expect(unknownSub.status).to.equal(404);
    expect((unknownSub.json() as { message: string }).message).to.equal(
      `Object id=${unknown} type=SUBSCRIPTION doesn't exist!`,
    );
  });

  it('refuses usage dated after the cancellation with a bare 400', async () => {
    const accountId = await createAccount(t.kb);
    const sub = await createSubscription(t.kb, accountId, 'cloud-usage', { entitlementDate: '2024-01-01' });
    await t.kb.subscriptions.cancelSubscriptionPlan(
      sub,
      CREATED_BY,
      '2024-02-01',
      undefined,
      undefined,
      'IMMEDIATE',
      'IMMEDIATE',
      true,
    );
    const cancelledAt = (await t.kb.subscriptions.getSubscription(sub)).data.cancelledDate!;
    const record = (recordDate: string) => ({
      subscriptionId: sub,
      unitUsageRecords: [{ unitType: 'cents', usageRecords: [{ recordDate, amount: 1 }] }],
    });
    expect((await post(record(cancelledAt))).status).to.equal(201);
    const late = await post(record(new Date(Date.parse(cancelledAt) + 1000).toISOString()));
    expect(late.status).to.equal(400);
    expect(late.text).to.equal('');
  });
});
