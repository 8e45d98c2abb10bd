import { expect } from 'chai';
import type { AxiosError } from 'axios';
import {
  CREATED_BY,
  createAccount,
  createSubscription,
  expectSpecConformance,
  startHarness,
  uploadCatalog,
  type StandinHarness,
  type TestTenant,
} from './support/standin-harness.js';

/** Contract §4.2 and §9 item 11: accounts, their bill-cycle day and pagination. */
describe('Kill Bill stand-in: accounts', () => {
  let h: StandinHarness;
  let t: TestTenant;

  before(async () => {
    h = await startHarness();
    t = await h.newTenant();
    await uploadCatalog(t.kb);
  });
  after(() => h.close());
  afterEach(() => expectSpecConformance(h.traffic));

  it('creates and reads an account with every field Kill Bill 0.24 writes, nulls included', async () => {
    const before = Date.now();
    const accountId = await createAccount(t.kb, { name: 'Ada', email: 'ada@example.org', currency: 'EUR' });
    const { data } = await t.kb.accounts.getAccount(accountId);
    expect(Object.keys(data)).to.deep.equal([
      'accountId',
      'name',
      'firstNameLength',
      'externalKey',
      'email',
      'billCycleDayLocal',
      'currency',
      'parentAccountId',
      'isPaymentDelegatedToParent',
      'paymentMethodId',
      'referenceTime',
      'timeZone',
      'address1',
      'address2',
      'postalCode',
      'company',
      'city',
      'state',
      'country',
      'locale',
      'phone',
      'notes',
      'isMigrated',
      'accountBalance',
      'accountCBA',
      'auditLogs',
    ]);
    expect(data).to.deep.include({
      accountId,
      externalKey: accountId,
      name: 'Ada',
      billCycleDayLocal: 0,
      currency: 'EUR',
      timeZone: 'UTC',
      address1: null,
      isPaymentDelegatedToParent: false,
      auditLogs: [],
    });
    expect(data.referenceTime).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/);
    expect(Date.parse(data.referenceTime!)).to.be.within(before - 1000, Date.now());
  });

  it('accepts a time zone at creation and refuses an unknown one', async () => {
    const accountId = await createAccount(t.kb, { timeZone: 'America/New_York', externalKey: 'ny-1' });
    expect((await t.kb.accounts.getAccount(accountId)).data.timeZone).to.equal('America/New_York');
    expect((await t.kb.accounts.getAccountByKey('ny-1')).data.accountId).to.equal(accountId);
    const err = (await t.kb.accounts
      .createAccount({ name: 'x', timeZone: 'Mars/Olympus' }, CREATED_BY)
      .catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(400);
  });

  it('sets billCycleDayLocal from the first subscription: its billing start day in the account time zone', async () => {
    // 23:30 UTC on the 9th is already the 10th in Tokyo.
    const accountId = await createAccount(t.kb, {
      timeZone: 'Asia/Tokyo',
      referenceTime: '2024-03-09T23:30:00.000Z',
    });
    expect((await t.kb.accounts.getAccount(accountId)).data.billCycleDayLocal).to.equal(0);
    await createSubscription(t.kb, accountId, 'cloud-usage', { billingDate: '2024-03-10' });
    expect((await t.kb.accounts.getAccount(accountId)).data.billCycleDayLocal).to.equal(10);
    await createSubscription(t.kb, accountId, 'water-monthly', { billingDate: '2024-03-20' });
    expect((await t.kb.accounts.getAccount(accountId)).data.billCycleDayLocal).to.equal(10);
  });

  it('updates with PUT (204) and refuses to change the currency once set', async () => {
    const accountId = await createAccount(t.kb, { currency: 'USD' });
    await t.kb.accounts.updateAccount({ name: 'New name', city: 'Lyon' }, accountId, CREATED_BY);
    const { data } = await t.kb.accounts.getAccount(accountId);
    expect(data).to.deep.include({ name: 'New name', city: 'Lyon', currency: 'USD' });
    const err = (await t.kb.accounts
      .updateAccount({ currency: 'EUR' }, accountId, CREATED_BY)
      .catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(400);
  });

  it('paginates as a bare array with X-Killbill-Pagination-* headers, no next on the last page', async () => {
    const tenant = await h.newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createAccount(tenant.kb, { name: `p${i}` }));
    const first = await tenant.kb.accounts.getAccounts(0, 2);
    expect(first.data.map((a) => a.accountId)).to.deep.equal(ids.slice(0, 2));
    expect(first.headers['x-killbill-pagination-currentoffset']).to.equal('0');
    expect(first.headers['x-killbill-pagination-nextoffset']).to.equal('2');
    expect(first.headers['x-killbill-pagination-totalnbrecords']).to.equal('5');
    expect(first.headers['x-killbill-pagination-maxnbrecords']).to.equal('5');
    expect(first.headers['x-killbill-pagination-nextpageuri']).to.equal(
      '/1.0/kb/accounts/pagination?offset=2&limit=2&accountWithBalance=false&accountWithBalanceAndCBA=false&audit=NONE',
    );
    const last = await tenant.kb.accounts.getAccounts(4, 2);
    expect(last.data.map((a) => a.accountId)).to.deep.equal(ids.slice(4));
    expect(last.headers['x-killbill-pagination-nextoffset']).to.equal(undefined);
    expect(last.headers['x-killbill-pagination-nextpageuri']).to.equal(undefined);
    const all = await tenant.kb.accounts.getAccounts();
    expect(all.data).to.have.length(5);
    expect(all.headers['x-killbill-pagination-nextoffset']).to.equal(undefined);
  });
});
