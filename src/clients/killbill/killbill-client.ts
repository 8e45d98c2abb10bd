import type { AxiosResponse } from 'axios';
import type {
  AccountApi,
  InvoiceApi,
  UsageApi,
  Account,
  Bundle,
  CustomField,
  Invoice,
  Subscription,
  SubscriptionUsageRecord,
} from 'killbill';
import { connectGenerated, type GeneratedApis } from './generated-client.js';
import type { KillBillCall, KillBillClientOptions, RecordOutcome } from './client-options.js';
import { KillBillError } from '../../errors/index.js';
import {
  TRACKING_ID_ALREADY_EXISTS,
  isNoCatalogYet,
  isNoTenantForKey,
  toKillBillError,
} from './kill-bill-failures.js';
import { proxiedFromEnv, UsagePost } from './usage-post.js';

export type { Account, Bundle, CustomField, Invoice, Subscription, SubscriptionUsageRecord };
export type { KillBillCall, KillBillClientOptions, RecordOutcome } from './client-options.js';

/**
 * The bridge's view of one Kill Bill tenant, through the official `killbill` client. Every failure
 * becomes a {@link KillBillError}; reads of unknown ids return null rather than throw.
 */
export class KillBillClient {
  readonly apiKey: string;
  private readonly apiSecret: string;
  /** X-Killbill-CreatedBy on writes. */
  readonly createdBy: string;
  private readonly admin: { url: string; username: string; password: string };
  private readonly onReachability: ((noAnswer: string | null) => void) | undefined;
  private readonly onCall: ((call: KillBillCall) => void) | undefined;
  private readonly timeoutMs: number;
  /** The generated client on this connection, built by the first call that needs it (generated-client.ts). */
  private built: GeneratedApis | undefined;
  /** The hot path of a sync; null when a proxy in the environment must carry it (see {@link proxiedFromEnv}). */
  private readonly usagePost: UsagePost | null;

  constructor(options: KillBillClientOptions) {
    this.apiKey = options.apiKey;
    this.apiSecret = options.apiSecret;
    this.createdBy = options.createdBy ?? 'killbill-openstack-bridge';
    this.onReachability = options.onReachability;
    this.onCall = options.onCall;
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.admin = {
      url: options.url.replace(/\/+$/, ''),
      username: options.username,
      password: options.password,
    };
    this.usagePost = proxiedFromEnv(this.admin.url)
      ? null
      : new UsagePost({
          ...this.admin,
          apiKey: options.apiKey,
          apiSecret: options.apiSecret,
          createdBy: this.createdBy,
          timeoutMs: this.timeoutMs,
        });
  }

  private get apis(): GeneratedApis {
    if (this.built) return this.built;
    const { admin, apiKey, apiSecret, timeoutMs } = this;
    try {
      return (this.built = connectGenerated({ ...admin, apiKey, apiSecret, timeoutMs }));
    } catch (err) {
      // A broken install, not Kill Bill's answer: no retry mends it (the call was never sent).
      const why = err instanceof Error ? err.message : String(err);
      throw new KillBillError('load of the generated client', why, undefined, null, false);
    }
  }

  get accounts(): AccountApi {
    return this.apis.accounts;
  }

  get usages(): UsageApi {
    return this.apis.usages;
  }

  get invoices(): InvoiceApi {
    return this.apis.invoices;
  }

  /** A generated API on this connection, for calls kept in files of their own (account-credits.ts). */
  api<A>(Api: new (...args: ConstructorParameters<typeof AccountApi>) => A): A {
    return new Api(...this.apis.args);
  }

  /** Runs one call: reported to `onCall` and `onReachability`, any failure as a {@link KillBillError}. */
  call<T>(operation: string, fn: () => Promise<AxiosResponse<T>>): Promise<AxiosResponse<T>> {
    return this.reported(operation, fn);
  }

  private async reported<R extends { status: number }>(operation: string, fn: () => Promise<R>): Promise<R> {
    const started = performance.now();
    const report = (status: number | undefined) =>
      this.onCall?.({ operation, status, durationMs: performance.now() - started });
    try {
      const res = await fn();
      report(res.status);
      this.onReachability?.(null);
      return res;
    } catch (err) {
      const failure = toKillBillError(operation, err);
      report(failure.status);
      this.onReachability?.(failure.noAnswer ?? null);
      throw failure;
    }
  }

  /** Runs a read; an unknown id (404) is null. */
  protected async read<T>(operation: string, fn: () => Promise<AxiosResponse<T>>): Promise<T | null> {
    try {
      return (await this.call(operation, fn)).data;
    } catch (err) {
      if (err instanceof KillBillError && err.status === 404) return null;
      throw err;
    }
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await this.apis.http.get(`${this.admin.url}/1.0/healthcheck`, {
        validateStatus: () => true,
      });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  getAccount(accountId: string): Promise<Account | null> {
    return this.read('get account', () => this.accounts.getAccount(accountId));
  }

  async getAccountCustomFields(accountId: string): Promise<CustomField[] | null> {
    return this.read('get account custom fields', () => this.accounts.getAccountCustomFields(accountId));
  }

  /** The custom fields of the account and of every object under it (its subscriptions'), in one call. */
  async getAllCustomFields(accountId: string): Promise<CustomField[] | null> {
    return this.read('get all custom fields', () => this.accounts.getAllCustomFields(accountId));
  }

  async getAccountBundles(accountId: string): Promise<Bundle[] | null> {
    return this.read('get account bundles', () => this.accounts.getAccountBundles(accountId));
  }

  /**
   * Records usage. Kill Bill answers 400 code 50000 when it already holds the record's tracking id: that
   * is the earlier attempt having landed, so it counts as recorded, not as an error.
   */
  async recordUsage(record: SubscriptionUsageRecord): Promise<RecordOutcome> {
    try {
      const post = this.usagePost;
      await this.reported('record usage', () =>
        post ? post.send(record) : this.usages.recordUsage(record, this.createdBy),
      );
      return 'recorded';
    } catch (err) {
      if (err instanceof KillBillError && err.code === TRACKING_ID_ALREADY_EXISTS) return 'already-recorded';
      throw err;
    }
  }

  /** The callback URLs Kill Bill holds for the tenant (one at most). */
  async getCallbacks(): Promise<string[]> {
    const res = await this.call('get push notification callback', () =>
      this.apis.tenants.getPushNotificationCallbacks(),
    );
    return res.data.values ?? [];
  }

  async registerCallback(url: string): Promise<void> {
    // The generated client leaves the content type to axios, which picks a form type; Kill Bill answers 415.
    await this.call('register push notification callback', () =>
      this.apis.tenants.registerPushNotificationCallback(this.createdBy, url, undefined, undefined, {
        headers: { 'Content-Type': 'application/json' },
      }),
    );
  }

  /** Creates the tenant of this client's key and secret; false when Kill Bill already has that key. */
  async createTenant(): Promise<boolean> {
    const tenant = { apiKey: this.apiKey, apiSecret: this.apiSecret };
    try {
      await this.call('create tenant', () => this.apis.tenants.createTenant(tenant, this.createdBy));
      return true;
    } catch (err) {
      if (err instanceof KillBillError && err.status === 409) return false;
      throw err;
    }
  }

  /** Units declared by the tenant's latest catalog version; null when it has no catalog. */
  async getCatalogUnits(): Promise<Set<string> | null> {
    const versions = await this.read('get catalog', () => this.apis.catalogs.getCatalogJson());
    const latest = versions && versions.length > 0 ? versions[versions.length - 1] : undefined;
    if (!latest) return null;
    return new Set((latest.units ?? []).map((u) => u.name).filter((n): n is string => typeof n === 'string'));
  }

  async uploadCatalogXml(xml: string): Promise<void> {
    await this.call('upload catalog', () => this.apis.catalogs.uploadCatalogXml(xml, this.createdBy));
  }

  async addAccountCustomFields(
    accountId: string,
    fields: Array<{ name: string; value: string }>,
  ): Promise<void> {
    await this.call('add account custom fields', () =>
      this.accounts.createAccountCustomFields(fields, accountId, this.createdBy),
    );
  }

  /** Changes field values in place; Kill Bill sends no notification for this (contract §2.4). */
  async updateAccountCustomFields(
    accountId: string,
    fields: Array<{ customFieldId: string; value: string }>,
  ) {
    // Kill Bill needs only the id and the new value; the spec's type also asks for the name.
    const body = fields as unknown as CustomField[];
    await this.call('update account custom fields', () =>
      this.accounts.modifyAccountCustomFields(body, accountId, this.createdBy),
    );
  }

  async removeAccountCustomFields(accountId: string, customFieldIds: string[]): Promise<void> {
    await this.call('remove account custom fields', () =>
      this.accounts.deleteAccountCustomFields(accountId, this.createdBy, customFieldIds),
    );
  }

  /** Subscribes an account to a plan; `startDate` (YYYY-MM-DD) may lie in the past. Returns the id. */
  async createSubscription(accountId: string, planName: string, startDate?: string, externalKey?: string) {
    const res = await this.call('create subscription', () =>
      this.apis.subscriptions.createSubscription(
        // The spec's type also requires product, billing period and price list; the plan name implies them.
        { accountId, planName, externalKey } as Subscription,
        this.createdBy,
        startDate,
        startDate,
      ),
    );
    return idFromLocation(res);
  }

  /** Whether Kill Bill has a tenant with this client's API key. Needs only the user's credentials. */
  async tenantExists(): Promise<boolean> {
    try {
      return (await this.read('get tenant', () => this.apis.tenants.getTenantByApiKey(this.apiKey))) !== null;
    } catch (err) {
      if (err instanceof KillBillError && isNoTenantForKey(err, this.apiKey)) return false;
      throw err;
    }
  }

  /** The catalog XML Kill Bill serves for `requestedDate` (ISO), unfiltered; null when no version applies, or none at all. */
  async getCatalogXmlAt(requestedDate: string): Promise<string | null> {
    const options = { responseType: 'text' as const, headers: { Accept: 'text/xml' } };
    try {
      const res = await this.call('get catalog', () =>
        this.apis.catalogs.getCatalogXml(requestedDate, undefined, options),
      );
      return String(res.data ?? '');
    } catch (err) {
      if (err instanceof KillBillError && (err.status === 404 || err.status === 400 || isNoCatalogYet(err)))
        return null;
      throw err;
    }
  }
}

function idFromLocation(res: AxiosResponse): string {
  const location = String(res.headers.location ?? '');
  const id = location.split('?')[0]!.split('/').filter(Boolean).pop();
  if (!id) throw new KillBillError('read Location header', `no id in "${location}"`, res.status, null, false);
  return id;
}
