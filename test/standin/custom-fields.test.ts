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
  startHarness,
  uploadCatalog,
  type StandinHarness,
  type TestTenant,
} from './support/standin-harness.js';

/** Contract §4.1 and §9 item 10: custom fields on accounts and subscriptions, and their events. */
describe('Kill Bill stand-in: custom fields', () => {
  let h: StandinHarness;
  let t: TestTenant;
  let receiver: CallbackReceiver;

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
  });
  after(async () => {
    await h.close();
    await receiver.close();
  });
  afterEach(() => expectSpecConformance(h.traffic));

  const eventsFor = (objectId: string): string[] =>
    receiver.received.filter((r) => r.body.objectId === objectId).map((r) => String(r.body.eventType));

  it('creates (201 + Location), reads, updates (204) and deletes (204) account fields', async () => {
    const accountId = await createAccount(t.kb);
    const created = await t.kb.accounts.createAccountCustomFields(
      [{ name: 'tier', value: 'gold' }],
      accountId,
      CREATED_BY,
    );
    expect(created.status).to.equal(201);
    expect(created.data).to.equal('');
    expect(created.headers.location).to.equal(`${h.standin.url}/1.0/kb/accounts/${accountId}/customFields`);
    const [field] = (await t.kb.accounts.getAccountCustomFields(accountId)).data;
    expect(field).to.deep.equal({
      customFieldId: field!.customFieldId,
      objectId: accountId,
      objectType: 'ACCOUNT',
      name: 'tier',
      value: 'gold',
      auditLogs: [],
    });
    const id = field!.customFieldId!;
    const updated = await t.kb.accounts.modifyAccountCustomFields(
      [{ customFieldId: id, name: 'tier', value: 'silver' }],
      accountId,
      CREATED_BY,
    );
    expect(updated.status).to.equal(204);
    expect((await t.kb.accounts.getAccountCustomFields(accountId)).data[0]?.value).to.equal('silver');
    const deleted = await t.kb.accounts.deleteAccountCustomFields(accountId, CREATED_BY, [id]);
    expect(deleted.status).to.equal(204);
    expect((await t.kb.accounts.getAccountCustomFields(accountId)).data).to.deep.equal([]);
    await waitFor('creation and deletion events', () => eventsFor(id).length === 2);
    const events = receiver.received.filter((r) => r.body.objectId === id).map((r) => r.body);
    expect(events).to.deep.equal([
      {
        eventType: 'CUSTOM_FIELD_CREATION',
        accountId,
        objectType: 'CUSTOM_FIELD',
        objectId: id,
        metaData: null,
      },
      {
        eventType: 'CUSTOM_FIELD_DELETION',
        accountId,
        objectType: 'CUSTOM_FIELD',
        objectId: id,
        metaData: null,
      },
    ]);
  });

  it('refuses an exact duplicate with 400 code 9000, stores nothing of that request, allows same name with another value', async () => {
    const accountId = await createAccount(t.kb);
    await t.kb.accounts.createAccountCustomFields([{ name: 'tier', value: 'gold' }], accountId, CREATED_BY);
    const err = (await t.kb.accounts
      .createAccountCustomFields(
        [
          { name: 'other', value: 'x' },
          { name: 'tier', value: 'gold' },
        ],
        accountId,
        CREATED_BY,
      )
      .catch((e: unknown) => e)) as AxiosError<{ className: string; code: number }>;
    expect(err.response?.status).to.equal(400);
    expect(err.response?.data.className).to.equal('org.killbill.billing.util.api.CustomFieldApiException');
    expect(err.response?.data.code).to.equal(9000);
    await t.kb.accounts.createAccountCustomFields(
      [{ name: 'tier', value: 'platinum' }],
      accountId,
      CREATED_BY,
    );
    const values = (await t.kb.accounts.getAccountCustomFields(accountId)).data.map(
      (f) => `${f.name}=${f.value}`,
    );
    expect(values).to.deep.equal(['tier=gold', 'tier=platinum']);
  });

  it('deletes all fields of the object when no id is given', async () => {
    const accountId = await createAccount(t.kb);
    await t.kb.accounts.createAccountCustomFields(
      [
        { name: 'a', value: '1' },
        { name: 'b', value: '2' },
      ],
      accountId,
      CREATED_BY,
    );
    await t.kb.accounts.deleteAccountCustomFields(accountId, CREATED_BY);
    expect((await t.kb.accounts.getAccountCustomFields(accountId)).data).to.deep.equal([]);
  });

  it('serves subscription fields and lists everything under the account with allCustomFields', async () => {
    const accountId = await createAccount(t.kb);
    const subscriptionId = await createSubscription(t.kb, accountId, 'cloud-usage');
    await t.kb.accounts.createAccountCustomFields([{ name: 'a', value: '1' }], accountId, CREATED_BY);
    const res = await t.kb.subscriptions.createSubscriptionCustomFields(
      [{ name: 'project', value: 'p-1' }],
      subscriptionId,
      CREATED_BY,
    );
    expect(res.headers.location).to.equal(
      `${h.standin.url}/1.0/kb/subscriptions/${subscriptionId}/customFields`,
    );
    const [subField] = (await t.kb.subscriptions.getSubscriptionCustomFields(subscriptionId)).data;
    expect(subField).to.deep.include({
      objectId: subscriptionId,
      objectType: 'SUBSCRIPTION',
      name: 'project',
      value: 'p-1',
    });
    const all = (await t.kb.accounts.getAllCustomFields(accountId)).data.map((f) => f.objectType);
    expect(all.sort()).to.deep.equal(['ACCOUNT', 'SUBSCRIPTION']);
    const subsOnly = (await t.kb.accounts.getAllCustomFields(accountId, 'SUBSCRIPTION')).data;
    expect(subsOnly.map((f) => f.name)).to.deep.equal(['project']);
    await waitFor('subscription field event', () => eventsFor(subField!.customFieldId!).length === 1);
    expect(
      receiver.received.find((r) => r.body.objectId === subField!.customFieldId)?.body.accountId,
    ).to.equal(accountId);
    await t.kb.subscriptions.modifySubscriptionCustomFields(
      [{ customFieldId: subField!.customFieldId, name: 'project', value: 'p-2' }],
      subscriptionId,
      CREATED_BY,
    );
    await t.kb.subscriptions.deleteSubscriptionCustomFields(subscriptionId, CREATED_BY, [
      subField!.customFieldId!,
    ]);
    await waitFor('deletion event', () => eventsFor(subField!.customFieldId!).length === 2);
    // The PUT in between posted nothing.
    expect(eventsFor(subField!.customFieldId!)).to.deep.equal([
      'CUSTOM_FIELD_CREATION',
      'CUSTOM_FIELD_DELETION',
    ]);
  });
});
