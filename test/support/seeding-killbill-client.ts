import type { AxiosResponse } from 'axios';
import {
  SubscriptionApi,
  type Account,
  type CustomField,
  type Invoice,
  type RolledUpUsage,
  type Subscription,
} from 'killbill';
import { KillBillClient, type KillBillClientOptions } from '../../src/clients/killbill/index.js';

/**
 * The bridge's Kill Bill client plus what only tests, the bench and the demo do to a tenant: create
 * accounts, mark and cancel subscriptions, read back what was recorded. The bridge never does these, so
 * they live here rather than in src. Calls go through the client's own `call`, so they fail as the
 * bridge's do (a `KillBillError`) and count in the same metrics.
 */
export class SeedingKillBillClient extends KillBillClient {
  private readonly subscriptionApi: SubscriptionApi;

  constructor(options: KillBillClientOptions) {
    super(options);
    this.subscriptionApi = this.api(SubscriptionApi);
  }

  /** Creates an account; returns its id, read from the Location header. */
  async createAccount(account: Account): Promise<string> {
    const res = await this.call('create account', () => this.accounts.createAccount(account, this.createdBy));
    return idFromLocation(res);
  }

  async addSubscriptionCustomFields(
    subscriptionId: string,
    fields: Array<{ name: string; value: string }>,
  ): Promise<void> {
    await this.call('add subscription custom fields', () =>
      this.subscriptionApi.createSubscriptionCustomFields(fields, subscriptionId, this.createdBy),
    );
  }

  /** Null when Kill Bill has no such subscription. */
  getSubscription(subscriptionId: string): Promise<Subscription | null> {
    return this.read('get subscription', () => this.subscriptionApi.getSubscription(subscriptionId));
  }

  getSubscriptionCustomFields(subscriptionId: string): Promise<CustomField[] | null> {
    return this.read('get subscription custom fields', () =>
      this.subscriptionApi.getSubscriptionCustomFields(subscriptionId),
    );
  }

  async cancelSubscription(subscriptionId: string): Promise<void> {
    await this.call('cancel subscription', () =>
      this.subscriptionApi.cancelSubscriptionPlan(
        subscriptionId,
        this.createdBy,
        undefined,
        undefined,
        undefined,
        'IMMEDIATE',
        'IMMEDIATE',
      ),
    );
  }

  /** The account's next invoice as Kill Bill would generate it now (nothing is stored); null when none. */
  async upcomingInvoice(accountId: string, targetDate?: string): Promise<Invoice | null> {
    const res = await this.call('preview invoice', () =>
      this.invoices.generateDryRunInvoice(
        { dryRunType: 'UPCOMING_INVOICE' },
        accountId,
        this.createdBy,
        targetDate,
      ),
    );
    return res.status === 204 ? null : res.data;
  }

  /** Usage rolled up per unit over `[startDate, endDate)`. */
  async getUsage(subscriptionId: string, startDate: string, endDate: string): Promise<RolledUpUsage> {
    const res = await this.call('get usage', () =>
      this.usages.getAllUsage(subscriptionId, startDate, endDate),
    );
    return res.data;
  }
}

function idFromLocation(res: AxiosResponse): string {
  const location = String(res.headers.location ?? '');
  const id = location.split('?')[0]!.split('/').filter(Boolean).pop();
  if (!id) throw new Error(`no id in the Location header "${location}" (status ${res.status})`);
  return id;
}
