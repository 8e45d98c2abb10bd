import type { Account, Bundle, CustomField } from '../clients/killbill/killbill-client.js';
import type { PagedListings } from '../clients/killbill/paged-listings.js';
import type { AccountView, FieldView, SubscriptionView } from './account-resolution.js';
import { FIELD } from './metered-subscription.js';
import { SharedValues } from './shared-values.js';

/** One account of a tenant reading, with what {@link resolveAccount} needs of it. */
export interface ListedAccount {
  account: AccountView;
  accountFields: FieldView[];
  subscriptions: Array<{ subscription: SubscriptionView; fields: FieldView[] }>;
}

/** Only these decide what is metered, so no other field is kept. */
const REGISTRY_FIELDS: ReadonlySet<string> = new Set(Object.values(FIELD));

/** Values unique to their object: keeping one instance of each would only fill the map. */
const UNIQUE_VALUES: ReadonlySet<string> = new Set([
  FIELD.projectId,
  FIELD.concertimProjectId,
  FIELD.stackId,
]);

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
  /**
   * The reading holds every registry field and subscription of the tenant until its account is streamed
   * (about 85 MB at 100,000 accounts, BENCHMARKS.md): names, flags, metric lists, states and dates repeat,
   * and each parsed one is otherwise a copy of its own.
   */
  private readonly shared = new SharedValues();

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
      const value = UNIQUE_VALUES.has(f.name) ? f.value : this.shared.string(f.value);
      // Concatenated, not pushed: a list a push grows keeps room for 19 fields (168 bytes an object), and an
      // object has a few registry fields at most (an account's subscriptions, unbounded, are pushed).
      const field = { name: this.shared.string(f.name), value };
      const known = this.fields.get(f.objectId);
      this.fields.set(f.objectId, known ? known.concat([field]) : [field]);
    }
  }

  private addBundles(page: Bundle[]): void {
    for (const bundle of page) {
      for (const s of bundle.subscriptions ?? []) {
        if (!s.subscriptionId) continue;
        const accountId = s.accountId ?? bundle.accountId;
        push(this.subscriptions, accountId, this.subscriptionView(s, s.subscriptionId));
      }
    }
  }

  /** The tenant's accounts, a page at a time, each with its fields and subscriptions. */
  async *accounts(): AsyncGenerator<ListedAccount[]> {
    for await (const page of this.listings.accounts()) {
      yield page
        .filter((a): a is Account & { accountId: string } => Boolean(a.accountId))
        .map((a) => this.take(this.accountView(a)));
    }
  }

  /** The subscription's parts the registry reads; the listing's events and prices are dropped at once. */
  private subscriptionView(
    s: Omit<SubscriptionView, 'subscriptionId'>,
    subscriptionId: string,
  ): SubscriptionView {
    const date = (d: string | null | undefined) => (d ? this.shared.string(d) : d);
    return {
      subscriptionId,
      state: s.state && this.shared.string(s.state),
      startDate: date(s.startDate),
      billingStartDate: date(s.billingStartDate),
      cancelledDate: date(s.cancelledDate),
      billingEndDate: date(s.billingEndDate),
      billCycleDayLocal: s.billCycleDayLocal,
    };
  }

  private accountView(a: Account & { accountId: string }): AccountView {
    return {
      accountId: a.accountId,
      billCycleDayLocal: a.billCycleDayLocal,
      timeZone: a.timeZone && this.shared.string(a.timeZone),
      referenceTime: a.referenceTime && this.shared.string(a.referenceTime),
    };
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
