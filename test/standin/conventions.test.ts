import { expect } from 'chai';
import type { AxiosError } from 'axios';
import {
  CREATED_BY,
  createAccount,
  expectSpecConformance,
  raw,
  startHarness,
  type StandinHarness,
  type TestTenant,
} from './support/standin-harness.js';

/** Contract §9 items 1–3: authentication, headers, status codes, Location, error JSON, tenant isolation. */
describe('Kill Bill stand-in: HTTP conventions', () => {
  let h: StandinHarness;
  let bob: TestTenant;

  before(async () => {
    h = await startHarness();
    bob = await h.newTenant();
  });
  after(() => h.close());
  afterEach(() => expectSpecConformance(h.traffic));

  it('answers the healthcheck without authentication, as JSON', async () => {
    const res = await raw(h.standin, 'GET', '/1.0/healthcheck', { auth: null });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/json');
    const body = res.json() as Record<string, { healthy: boolean }>;
    expect(Object.values(body).every((c) => c.healthy)).to.equal(true);
  });

  it('refuses wrong or missing basic auth with 401', async () => {
    for (const auth of [null, 'admin:wrong', 'root:password']) {
      const res = await raw(h.standin, 'GET', '/1.0/kb/accounts/pagination', { auth, tenant: bob });
      expect(res.status, String(auth)).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.match(/^BASIC/i);
    }
  });

  it('refuses tenant calls with a missing or wrong api key or secret with 401', async () => {
    const cases = [
      undefined,
      { apiKey: bob.apiKey, apiSecret: 'nope' },
      { apiKey: 'nobody', apiSecret: bob.apiSecret },
    ];
    for (const tenant of cases) {
      const res = await raw(h.standin, 'GET', '/1.0/kb/accounts/pagination', { tenant });
      expect(res.status).to.equal(401);
    }
  });

  it('needs X-Killbill-CreatedBy on writes: 400 with IllegalArgumentException JSON', async () => {
    const res = await raw(h.standin, 'POST', '/1.0/kb/accounts', {
      tenant: bob,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x', currency: 'USD' }),
    });
    expect(res.status).to.equal(400);
    expect(res.headers.get('content-type')).to.equal('application/json');
    expect(res.json()).to.deep.equal({
      className: 'java.lang.IllegalArgumentException',
      code: null,
      message: 'Header X-Killbill-CreatedBy needs to be set',
      causeClassName: null,
      causeMessage: null,
      stackTrace: [],
    });
  });

  it('answers a create with 201, an empty body, Content-Type application/json and an absolute Location', async () => {
    const res = await bob.kb.accounts.createAccount({ name: 'A', currency: 'USD' }, CREATED_BY);
    expect(res.status).to.equal(201);
    expect(res.data).to.equal('');
    expect(res.headers['content-type']).to.equal('application/json');
    expect(res.headers.location).to.match(new RegExp(`^${h.standin.url}/1\\.0/kb/accounts/[0-9a-f-]{36}$`));
  });

  it('answers updates and deletes with 204 and Content-Type application/json', async () => {
    const accountId = await createAccount(bob.kb);
    const res = await bob.kb.accounts.updateAccount({ name: 'Renamed' }, accountId, CREATED_BY);
    expect(res.status).to.equal(204);
    expect(res.headers['content-type']).to.equal('application/json');
  });

  it('answers unknown ids with 404 ObjectDoesNotExist JSON', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const err = (await bob.kb.accounts.getAccount(id).catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(404);
    expect(err.response?.data).to.deep.equal({
      className: 'org.killbill.billing.util.callcontext.InternalCallContextFactory$ObjectDoesNotExist',
      code: null,
      message: `Object id=${id} type=ACCOUNT doesn't exist!`,
      causeClassName: null,
      causeMessage: null,
      stackTrace: [],
    });
  });

  it("never shows one tenant another tenant's objects", async () => {
    const alice = await h.newTenant();
    const accountId = await createAccount(bob.kb);
    const err = (await alice.kb.accounts.getAccount(accountId).catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(404);
    const page = await alice.kb.accounts.getAccounts(0, 100);
    expect(page.data.map((a) => a.accountId)).not.to.include(accountId);
    const err2 = (await alice.kb.accounts
      .getAccountCustomFields(accountId)
      .catch((e: unknown) => e)) as AxiosError;
    expect(err2.response?.status).to.equal(404);
  });
});
