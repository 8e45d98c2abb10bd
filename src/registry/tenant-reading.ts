import type { Account, Bundle, CustomField } from '../clients/killbill/killbill-client.js';
import type { PagedListings } from '../clients/killbill/paged-listings.js';
import type { AccountView, FieldView, SubscriptionView } from './account-resolution.js';
import { FIELD } from './metered-subscription.js';

/** One account of a tenant reading, with what {@link resolveAccount} needs of it. */
export interface ListedAccount {
  account: AccountView;
  accountFields: FieldView[];
  subscriptions: Array<{ subscription: SubscriptionView; fields: FieldView[] }>;
}

/** Only these decide what is metered, so no other field is kept. */
const REGISTRY_FIELDS: ReadonlySet<string> = new Set(Object.values(FIELD));

/** The subscription's parts the registry reads; the listing's events and prices are dropped at once. */
const subscriptionView = (s: SubscriptionView): SubscriptionView => ({
  subscriptionId: s.subscriptionId,
  state: s.state,
  startDate: s.startDate,
  billingStartDate: s.billingStartDate,
  cancelledDate: s.cancelledDate,
  billingEndDate: s.billingEndDate,
  billCycleDayLocal: s.billCycleDayLocal,
});

const accountView = (a: Account & { accountId: string }): AccountView => ({
  accountId: a.accountId,
  billCycleDayLocal: a.billCycleDayLocal,
  timeZone: a.timeZone,
  referenceTime: a.referenceTime,
});

const push = <T>(map: Map<string, T[]>, key: string, value: T) => {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
};

/**
 * A whole tenant as Kill Bill's paged listings give it, joined per account: the listings are not grouped
 * by account, so the registry's custom fields and every subscription's dates are indexed first (a few
 * strings each), then the accounts are streamed page by page and each account's share is handed out and
 * forgotten. Nothing else of a page outlives it.
 */
export class TenantReading {
  /** Object id (account or subscription) → its registry fields, in Kill Bill's order. */
  private readonly fields = new Map<string, FieldView[]>();
  /** Account id → its subscriptions, bundle by bundle in Kill Bill's order. */
  private readonly subscriptions = new Map<string, SubscriptionView[]>();

  private constructor(private readonly listings: PagedListings) {}

  /** Reads the tenant's custom fields and bundles; {@link accounts} then streams the accounts. */
  static async read(listings: PagedListings): Promise<TenantReading> {
    const reading = new TenantReading(listings);
    for await (const page of listings.customFields()) reading.addFields(page);
    for await (const page of listings.bundles()) reading.addBundles(page);
    return reading;
  }

  private addFields(page: CustomField[]): void {
    for (const f of page) {
      if (f.objectType !== 'ACCOUNT' && f.objectType !== 'SUBSCRIPTION') continue;
      if (!f.objectId || !REGISTRY_FIELDS.has(f.name)) continue;
      push(this.fields, f.objectId, { name: f.name, value: f.value });
    }
  }

  private addBundles(page: Bundle[]): void {
    for (const bundle of page) {
      for (const s of bundle.subscriptions ?? []) {
        if (!s.subscriptionId) continue;
        const accountId = s.accountId ?? bundle.accountId;
        push(this.subscriptions, accountId, subscriptionView({ ...s, subscriptionId: s.subscriptionId }));
      }
    }
  }

  /** The tenant's accounts, a page at a time, each with its fields and subscriptions. */
  async *accounts(): AsyncGenerator<ListedAccount[]> {
    for await (const page of this.listings.accounts()) {
      yield page
        .filter((a): a is Account & { accountId: string } => Boolean(a.accountId))
        .map((a) => this.take(accountView(a)));
    }
  }

  private take(account: AccountView): ListedAccount {
    const subscriptions = (this.subscriptions.get(account.accountId) ?? []).map((subscription) => {
      const fields = this.fields.get(subscription.subscriptionId) ?? [];
      this.fields.delete(subscription.subscriptionId);
      return { subscription, fields };
    });
    const accountFields = this.fields.get(account.accountId) ?? [];
    this.subscriptions.delete(account.accountId);
    this.fields.delete(account.accountId);
    return { account, accountFields, subscriptions };
  }
}
