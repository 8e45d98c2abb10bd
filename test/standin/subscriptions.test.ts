import { expect } from 'chai';
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

/** Contract §4.3 and §2.4: subscriptions, bundles, cancellation, and the events they post. */
describe('Kill Bill stand-in: subscriptions and their events', () => {
  let h: StandinHarness;
  let t: TestTenant;
  let receiver: CallbackReceiver;

  before(async () => {
    h = await startHarness();
    receiver = await startCallbackReceiver();
    t = await h.newTenant();
    await t.kb.tenants.registerPushNotificationCallback(
      CREATED_BY,
      receiver.url,
      undefined,
      undefined,
      JSON_CONTENT,
    );
    await uploadCatalog(t.kb);
  });
  after(async () => {
    await h.close();
    await receiver.close();
  });
  afterEach(() => expectSpecConformance(h.traffic));

  const bodiesFor = (objectId: string) =>
    receiver.received.map((r) => r.body).filter((b) => b.objectId === objectId);

  it('posts TENANT_CONFIG_CHANGE {"key":"CATALOG"} for a catalog upload', async () => {
    await waitFor('catalog event', () =>
      receiver.received.some((r) => r.body.metaData === '{"key":"CATALOG"}'),
    );
  });

  it('creates on a catalog plan with a past entitlement date, in a new bundle, with 0.24 dates and prices', async () => {
    const accountId = await createAccount(t.kb, { referenceTime: '2024-01-01T10:00:00.000Z' });
    const subscriptionId = await createSubscription(t.kb, accountId, 'water-monthly', {
      entitlementDate: '2024-01-15',
      bundleExternalKey: 'bk-1',
    });
    const { data } = await t.kb.subscriptions.getSubscription(subscriptionId);
    expect(data).to.deep.include({
      accountId,
      bundleExternalKey: 'bk-1',
      externalKey: subscriptionId,
      startDate: '2024-01-15T10:00:00.000Z',
      billingStartDate: '2024-01-15T10:00:00.000Z',
      productName: 'Water',
      productCategory: 'BASE',
      billingPeriod: 'MONTHLY',
      phaseType: 'EVERGREEN',
      priceList: 'DEFAULT',
      planName: 'water-monthly',
      state: 'ACTIVE',
      sourceType: 'NATIVE',
      cancelledDate: null,
      billingEndDate: null,
      billCycleDayLocal: 15,
      quantity: 1,
    });
    expect(data.chargedThroughDate).to.match(/^\d{4}-\d{2}-15$/);
    expect(data.events!.map((e) => e.eventType)).to.deep.equal(['START_ENTITLEMENT', 'START_BILLING']);
    expect(data.prices).to.deep.equal([
      {
        planName: 'water-monthly',
        phaseName: 'water-monthly-evergreen',
        phaseType: 'EVERGREEN',
        fixedPrice: null,
        recurringPrice: 30,
        usagePrices: [
          {
            usageName: 'water-monthly-usage',
            usageType: 'CONSUMABLE',
            billingMode: 'IN_ARREAR',
            tierBlockPolicy: 'ALL_TIERS',
            tierPrices: [
              { blockPrices: [{ unitName: 'liter', size: 1, price: 1.5, max: 1000 }] },
              { blockPrices: [{ unitName: 'liter', size: 1, price: 2, max: -1 }] },
            ],
          },
        ],
      },
    ]);
    const bundles = (await t.kb.accounts.getAccountBundles(accountId)).data;
    expect(bundles).to.have.length(1);
    expect(bundles[0]).to.deep.include({ accountId, externalKey: 'bk-1' });
    expect(bundles[0]!.subscriptions!.map((s) => s.subscriptionId)).to.deep.equal([subscriptionId]);
    expect(bundles[0]!.timeline!.events).to.have.length(2);

    await waitFor('creation events', () => bodiesFor(subscriptionId).length === 3);
    expect(bodiesFor(subscriptionId)).to.have.deep.members([
      {
        eventType: 'SUBSCRIPTION_CREATION',
        accountId,
        objectType: 'SUBSCRIPTION',
        objectId: subscriptionId,
        metaData: '{"actionType":"REQUESTED","bundleExternalKey":"bk-1"}',
      },
      {
        eventType: 'ENTITLEMENT_CREATION',
        accountId,
        objectType: 'SUBSCRIPTION',
        objectId: subscriptionId,
        metaData: null,
      },
      {
        eventType: 'SUBSCRIPTION_CREATION',
        accountId,
        objectType: 'SUBSCRIPTION',
        objectId: subscriptionId,
        metaData: '{"actionType":"EFFECTIVE","bundleExternalKey":"bk-1"}',
      },
    ]);
  });

  it('cancels immediately: 204, state CANCELLED, cancelledDate and billingEndDate set, cancel events posted', async () => {
    const accountId = await createAccount(t.kb);
    const subscriptionId = await createSubscription(t.kb, accountId, 'cloud-usage', {
      bundleExternalKey: 'bk-cancel',
    });
    const before = Date.now();
    const res = await t.kb.subscriptions.cancelSubscriptionPlan(
      subscriptionId,
      CREATED_BY,
      undefined,
      undefined,
      undefined,
      'IMMEDIATE',
      'IMMEDIATE',
    );
    expect(res.status).to.equal(204);
    const { data } = await t.kb.subscriptions.getSubscription(subscriptionId);
    expect(data.state).to.equal('CANCELLED');
    expect(Date.parse(data.cancelledDate!)).to.be.within(before - 1000, Date.now());
    expect(data.billingEndDate).to.equal(data.cancelledDate);
    expect(data.events!.map((e) => e.eventType)).to.deep.equal([
      'START_ENTITLEMENT',
      'START_BILLING',
      'STOP_ENTITLEMENT',
      'STOP_BILLING',
    ]);
    await waitFor('cancel events', () => bodiesFor(subscriptionId).length === 6);
    const cancels = bodiesFor(subscriptionId).filter((b) => String(b.eventType).includes('CANCEL'));
    expect(cancels.map((b) => `${b.eventType} ${b.metaData}`)).to.have.members([
      'SUBSCRIPTION_CANCEL {"actionType":"REQUESTED","bundleExternalKey":"bk-cancel"}',
      'ENTITLEMENT_CANCEL null',
      'SUBSCRIPTION_CANCEL {"actionType":"EFFECTIVE","bundleExternalKey":"bk-cancel"}',
    ]);
  });

  it('posts ACCOUNT_CREATION and ACCOUNT_CHANGE (PUT) for the account', async () => {
    const accountId = await createAccount(t.kb);
    await t.kb.accounts.updateAccount({ notes: 'changed' }, accountId, CREATED_BY);
    await waitFor('account events', () => bodiesFor(accountId).length === 2);
    expect(bodiesFor(accountId).map((b) => b.eventType)).to.deep.equal([
      'ACCOUNT_CREATION',
      'ACCOUNT_CHANGE',
    ]);
  });

  it('reports a future subscription as PENDING', async () => {
    const accountId = await createAccount(t.kb);
    const future = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
    const subscriptionId = await createSubscription(t.kb, accountId, 'cloud-usage', {
      entitlementDate: future,
    });
    expect((await t.kb.subscriptions.getSubscription(subscriptionId)).data.state).to.equal('PENDING');
  });
});
