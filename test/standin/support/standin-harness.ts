import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import globalAxios, { type AxiosInstance, type AxiosResponse } from 'axios';
import {
  AccountApi,
  BundleApi,
  CatalogApi,
  Configuration,
  InvoiceApi,
  SubscriptionApi,
  TenantApi,
  UsageApi,
  apiKey,
  type Account,
} from 'killbill';
import { expect } from 'chai';
import {
  startKillBillStandin,
  type KillBillStandin,
  type KillBillStandinOptions,
} from '../../killbill-standin/index.js';
import { SpecTraffic } from './spec-traffic.js';

/** Starting a stand-in and talking to it through the official `killbill` client, as the bridge will. */

export const CATALOG_XML = readFileSync(new URL('../fixtures/usage-catalog.xml', import.meta.url), 'utf8');

/** killbill-client-js#146: without this the client sends a form Content-Type and Kill Bill answers 415. */
export const JSON_CONTENT = { headers: { 'Content-Type': 'application/json' } };

export const CREATED_BY = 'standin-test';

export interface KillBillClients {
  axios: AxiosInstance;
  tenants: TenantApi;
  accounts: AccountApi;
  subscriptions: SubscriptionApi;
  bundles: BundleApi;
  catalog: CatalogApi;
  usage: UsageApi;
  invoices: InvoiceApi;
}

export interface TestTenant {
  apiKey: string;
  apiSecret: string;
  tenantId: string;
  kb: KillBillClients;
}

export interface StandinHarness {
  standin: KillBillStandin;
  traffic: SpecTraffic;
  /** Clients with only basic auth (tenant creation). */
  admin: KillBillClients;
  clients(apiKey?: string, apiSecret?: string): KillBillClients;
  newTenant(): Promise<TestTenant>;
  close(): Promise<void>;
}

export async function startHarness(opts: KillBillStandinOptions = {}): Promise<StandinHarness> {
  const standin = await startKillBillStandin(opts);
  const traffic = new SpecTraffic();
  const clients = (key?: string, secret?: string): KillBillClients => {
    const axios = globalAxios.create({ timeout: 10_000 });
    traffic.watch(axios);
    // killbill's typings name axios's CommonJS types; the instance is the same at runtime.
    const client = axios as unknown as ConstructorParameters<typeof TenantApi>[2];
    const config = new Configuration({
      basePath: standin.url,
      username: 'admin',
      password: 'password',
      apiKey: key && secret ? apiKey(key, secret) : undefined,
    });
    return {
      axios,
      tenants: new TenantApi(config, undefined, client),
      accounts: new AccountApi(config, undefined, client),
      subscriptions: new SubscriptionApi(config, undefined, client),
      bundles: new BundleApi(config, undefined, client),
      catalog: new CatalogApi(config, undefined, client),
      usage: new UsageApi(config, undefined, client),
      invoices: new InvoiceApi(config, undefined, client),
    };
  };
  const admin = clients();
  return {
    standin,
    traffic,
    admin,
    clients,
    async newTenant() {
      const key = `key-${randomUUID()}`;
      const secret = `secret-${randomUUID()}`;
      const res = await admin.tenants.createTenant({ apiKey: key, apiSecret: secret }, CREATED_BY);
      return { apiKey: key, apiSecret: secret, tenantId: idFromLocation(res), kb: clients(key, secret) };
    },
    close: () => standin.close(),
  };
}

export function idFromLocation(res: AxiosResponse): string {
  const location = String(res.headers.location ?? '');
  const id = location.split('/').pop() ?? '';
  expect(id, `Location ${location}`).to.match(/^[0-9a-f-]{36}$/);
  return id;
}

export async function uploadCatalog(kb: KillBillClients, xml = CATALOG_XML): Promise<void> {
  await kb.catalog.uploadCatalogXml(xml, CREATED_BY);
}

export async function createAccount(kb: KillBillClients, body: Account = {}): Promise<string> {
  const res = await kb.accounts.createAccount({ name: 'Test', currency: 'USD', ...body }, CREATED_BY);
  return idFromLocation(res);
}

/** The fixture catalog's plans; the spec's Subscription schema requires product, period and price list besides the plan. */
export const FIXTURE_PLANS = {
  'cloud-usage': { productName: 'Cloud', billingPeriod: 'NO_BILLING_PERIOD' },
  'water-monthly': { productName: 'Water', billingPeriod: 'MONTHLY' },
} as const;

export async function createSubscription(
  kb: KillBillClients,
  accountId: string,
  planName: keyof typeof FIXTURE_PLANS,
  dates: { entitlementDate?: string; billingDate?: string; bundleExternalKey?: string } = {},
): Promise<string> {
  const res = await kb.subscriptions.createSubscription(
    {
      accountId,
      planName,
      priceList: 'DEFAULT',
      bundleExternalKey: dates.bundleExternalKey,
      ...FIXTURE_PLANS[planName],
    },
    CREATED_BY,
    dates.entitlementDate,
    dates.billingDate,
  );
  return idFromLocation(res);
}

/** Every client call so far matched the spec; clears the record. */
export function expectSpecConformance(traffic: SpecTraffic): void {
  const violations = traffic.take();
  expect(violations, JSON.stringify(violations, null, 2)).to.deep.equal([]);
}

/** Plain HTTP, for what the client cannot express (missing headers, wrong content types). */
export async function raw(
  standin: KillBillStandin,
  method: string,
  path: string,
  opts: {
    headers?: Record<string, string>;
    body?: string;
    tenant?: { apiKey: string; apiSecret: string };
    auth?: string | null;
  } = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const auth = opts.auth === undefined ? 'admin:password' : opts.auth;
  if (auth !== null) headers.Authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  if (opts.tenant) {
    headers['X-Killbill-ApiKey'] = opts.tenant.apiKey;
    headers['X-Killbill-ApiSecret'] = opts.tenant.apiSecret;
  }
  const res = await fetch(`${standin.url}${path}`, { method, headers, body: opts.body, redirect: 'manual' });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}
