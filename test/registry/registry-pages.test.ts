import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { KillBillClient } from '../../src/clients/killbill/killbill-client.js';
import { SeedingKillBillClient } from '../support/seeding-killbill-client.js';
import { PagedListings } from '../../src/clients/killbill/paged-listings.js';
import { silentLogger } from '../../src/logging/logger.js';
import { AccountRegistrar } from '../../src/registry/account-registrar.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { KillBillError } from '../../src/errors/index.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { createTenant, type KillBillTenant } from '../support/killbill-server.js';
import { RedisServer } from '../support/redis-server.js';

const PLAN = 'openstack-standard-monthly';
const CATALOG = new URL('../../catalog/catalog.xml', import.meta.url);
const METRIC_UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' };
const LISTINGS = [
  '/1.0/kb/customFields/pagination',
  '/1.0/kb/bundles/pagination',
  '/1.0/kb/accounts/pagination',
];
const project = () => randomUUID().replace(/-/g, '');
const pages = (rows: number, size: number) => Math.max(1, Math.ceil(rows / size));

/**
 * A registry rebuild from Kill Bill's paged listings, against the REAL Kill Bill, gives exactly what
 * re-reading each account gives, in a number of calls that follows the pages, not the accounts.
 */
describe('registry rebuild from paged listings (real Kill Bill)', function () {
  this.timeout(10 * 60_000); // re-reading each account one by one is slow on a loaded machine
  let tenant: KillBillTenant;
  let setup: SeedingKillBillClient;
  let proxy: FaultProxy;
  let redis: RedisServer;
  const made = { accounts: 0, subscriptions: 0, fields: 0 };
  const connections: Redis[] = [];

  const registrar = (prefix: string, pageSize?: number) => {
    const kb = new KillBillClient({ ...tenant, url: proxy.url });
    const connection = redis.client();
    connections.push(connection);
    const store = new RegistryStore(connection, prefix);
    const r = new AccountRegistrar({
      clients: new Map([[tenant.apiKey, kb]]),
      store,
      metricUnits: METRIC_UNITS,
      logger: silentLogger,
      pageSize,
    });
    return { registrar: r, store };
  };

  async function account(fields: Record<string, string>, extra: Record<string, unknown> = {}) {
    const accountId = await setup.createAccount({
      name: `pages ${randomUUID().slice(0, 8)}`,
      currency: 'USD',
      ...extra,
    } as Parameters<SeedingKillBillClient['createAccount']>[0]);
    made.accounts++;
    await addFields(accountId, fields, (id, list) => setup.addAccountCustomFields(id, list));
    return accountId;
  }
  async function subscription(accountId: string, fields: Record<string, string> = {}) {
    const subscriptionId = await setup.createSubscription(accountId, PLAN);
    made.subscriptions++;
    await addFields(subscriptionId, fields, (id, list) => setup.addSubscriptionCustomFields(id, list));
    return subscriptionId;
  }
  async function addFields(
    id: string,
    fields: Record<string, string>,
    add: (id: string, list: Array<{ name: string; value: string }>) => Promise<void>,
  ) {
    const list = Object.entries(fields).map(([name, value]) => ({ name, value }));
    if (list.length > 0) await add(id, list);
    made.fields += list.length;
  }

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    tenant = await createTenant();
    setup = new SeedingKillBillClient({ ...tenant, createdBy: 'registry-pages-test' });
    await setup.uploadCatalogXml(readFileSync(CATALOG, 'utf8'));
    [proxy, redis] = await Promise.all([FaultProxy.start(tenant.url), RedisServer.start()]);

    const shared = project();
    const metered = { [FIELD.enabled]: 'true', [FIELD.metrics]: 'instance' };
    await subscription(await account({ ...metered, [FIELD.projectId]: shared }));
    // Four bundles (one per subscription), more than a page of two: overrides, a cancellation, a bad value.
    const many = await account({ ...metered, [FIELD.projectId]: project(), [FIELD.stackId]: 'stack-a' });
    await subscription(many);
    await subscription(many, { [FIELD.projectId]: project(), [FIELD.metrics]: 'vcpus,instance' });
    await setup.cancelSubscription(await subscription(many, { [FIELD.stackId]: 'stack-b' }));
    await subscription(many, { [FIELD.enabled]: 'maybe' });
    // The same project as the first account, without stack ids: both are in conflict.
    await subscription(await account({ ...metered, [FIELD.projectId]: shared }));
    await subscription(await account({ project_cloud_id: project() }, { timeZone: 'Europe/Paris' }));
    const twoValues = await account({ [FIELD.enabled]: 'true', [FIELD.projectId]: project() });
    await addFields(twoValues, { [FIELD.projectId]: project() }, (id, l) =>
      setup.addAccountCustomFields(id, l),
    );
    await subscription(twoValues);
    await account({ [FIELD.enabled]: 'false' });
    await subscription(await account({}));
  });

  after(async () => {
    await proxy?.close();
    for (const c of connections) c.disconnect();
    await redis?.close();
  });

  it('gives the entries, conflicts and problems of per-account learning, in calls per page', async () => {
    const perAccount = registrar('per-account');
    const ids: string[] = [];
    for await (const page of new PagedListings(setup).accounts()) ids.push(...page.map((a) => a.accountId!));
    expect(ids).to.have.length(made.accounts);
    for (const id of ids) await perAccount.registrar.refreshAccount(tenant.apiKey, id);

    const before = proxy.requests.length;
    const paged = registrar('paged', 2);
    const result = await paged.registrar.reconcileTenant(tenant.apiKey);
    const calls = proxy.requests.slice(before);

    expect(result.accounts).to.equal(made.accounts);
    expect(await paged.store.entries(tenant.apiKey)).to.deep.equal(
      await perAccount.store.entries(tenant.apiKey),
    );
    const entries = await paged.store.entries(tenant.apiKey);
    expect(entries.filter((e) => e.status === 'conflict')).to.have.length(2);
    expect(entries.filter((e) => e.status === 'metered').map((e) => e.until !== null)).to.have.members([
      false,
      false,
      false,
      true, // the cancelled one ends
    ]);
    for (const id of ids) {
      const { readAt: _a, ...fromPages } = (await paged.store.account(tenant.apiKey, id))!;
      const { readAt: _b, ...fromAccount } = (await perAccount.store.account(tenant.apiKey, id))!;
      expect(fromPages, `account ${id}`).to.deep.equal(fromAccount);
    }

    // The catalog, then every page of each listing, and nothing per account.
    expect(calls.map((c) => c.path.split('?')[0]).filter((p) => !LISTINGS.includes(p!))).to.deep.equal([
      '/1.0/kb/catalog',
    ]);
    expect(calls).to.have.length(
      1 + pages(made.fields, 2) + pages(made.subscriptions, 2) + pages(made.accounts, 2),
    );
  });

  it('ends a listing at its first empty page when Kill Bill names a next offset after every page', async () => {
    // Kill Bill 0.22.26 answered so for a tenant of 30,000 custom fields (10,000 accounts): no total, and a
    // next offset even past the end. Reading on until the offset ran out took the bench's rebuild 25 minutes
    // of empty pages. Here the proxy sends the headers as that server did; the rows stay the real ones.
    proxy.rewriteAnswerHeaders = (req, headers) => {
      const url = new URL(req.path, 'http://kb');
      if (!LISTINGS.includes(url.pathname)) return headers;
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const {
        'x-killbill-pagination-totalnbrecords': _total,
        'x-killbill-pagination-maxnbrecords': _max,
        ...kept
      } = headers;
      return { ...kept, 'x-killbill-pagination-nextoffset': String(offset + limit) };
    };
    try {
      const before = proxy.requests.length;
      const countless = registrar('countless', 2);
      const result = await countless.registrar.reconcileTenant(tenant.apiKey);
      expect(result.accounts).to.equal(made.accounts);
      expect(await countless.store.entries(tenant.apiKey)).to.deep.equal(
        await registrar('paged').store.entries(tenant.apiKey),
      );
      // One empty page more per listing than when Kill Bill says which page is the last.
      const onePastEach = (rows: number) => pages(rows, 2) + 1;
      expect(proxy.requests.length - before).to.equal(
        1 + onePastEach(made.fields) + onePastEach(made.subscriptions) + onePastEach(made.accounts),
      );
    } finally {
      proxy.rewriteAnswerHeaders = undefined;
    }
  });

  it('reads the same registry in one call per listing when a page holds the tenant', async () => {
    const paged = registrar('one-page');
    const before = proxy.requests.length;
    await paged.registrar.reconcileTenant(tenant.apiKey);
    expect(proxy.requests.length - before).to.equal(4);
    expect(await paged.store.entries(tenant.apiKey)).to.deep.equal(
      await registrar('paged').store.entries(tenant.apiKey),
    );
  });

  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('the rebuild succeeded'),
      (err: unknown) => err as KillBillError,
    );

  it('fails a rebuild whose page arrives cut short as Kill Bill unreachable, storing nothing of it', async () => {
    const cut = registrar('cut', 2);
    proxy.failNext(1, { kind: 'cut-body' }, { path: '/1.0/kb/bundles/pagination' });
    const err = await failure(cut.registrar.reconcileTenant(tenant.apiKey));
    expect(err).to.be.instanceOf(KillBillError);
    expect(err.operation).to.equal('list bundles');
    expect(err.retryable).to.equal(true);
    expect(err.noAnswer).to.be.a('string');
    expect(proxy.seen({ path: '/1.0/kb/bundles/pagination' }).at(-1)!.outcome).to.equal('cut-body');
    expect(await cut.store.entries(tenant.apiKey)).to.deep.equal([]);
    // The next rebuild reads the tenant whole: as one never cut short does.
    expect((await cut.registrar.reconcileTenant(tenant.apiKey)).accounts).to.equal(made.accounts);
    const whole = registrar('whole', 2);
    await whole.registrar.reconcileTenant(tenant.apiKey);
    expect(await cut.store.entries(tenant.apiKey)).to.deep.equal(await whole.store.entries(tenant.apiKey));
  });

  it("fails a rebuild whose listing Kill Bill refuses, with Kill Bill's status and message", async () => {
    const refused = registrar('refused', 2);
    proxy.failNext(1, { kind: 'status', status: 503 }, { path: '/1.0/kb/accounts/pagination' });
    const err = await failure(refused.registrar.reconcileTenant(tenant.apiKey));
    expect(err).to.be.instanceOf(KillBillError);
    expect(err.status).to.equal(503);
    expect(err.retryable).to.equal(true);
    expect(err.message).to.equal('Kill Bill list accounts failed: 503 injected by the test proxy: 503');
  });
});
