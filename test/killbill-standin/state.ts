import type { Decimal } from 'decimal.js';
import type { Catalog } from './catalog-model.js';

/** The stand-in's whole database, in memory; every record carries its tenant so lookups can isolate tenants. */

export interface TenantRecord {
  tenantId: string;
  externalKey: string | null;
  apiKey: string;
  apiSecret: string;
  /** PUSH_NOTIFICATION_CB is single-valued: at most one URL. */
  callbackUrl: string | null;
  catalogVersions: { xml: string; catalog: Catalog }[];
}

export interface AccountRecord {
  tenantId: string;
  accountId: string;
  name: string | null;
  firstNameLength: number | null;
  externalKey: string;
  email: string | null;
  billCycleDayLocal: number;
  currency: string | null;
  parentAccountId: string | null;
  isPaymentDelegatedToParent: boolean;
  paymentMethodId: string | null;
  referenceTime: Date;
  timeZone: string;
  address1: string | null;
  address2: string | null;
  postalCode: string | null;
  company: string | null;
  city: string | null;
  state: string | null;
  country: string | null;
  locale: string | null;
  phone: string | null;
  notes: string | null;
  isMigrated: boolean | null;
}

export interface BundleRecord {
  tenantId: string;
  bundleId: string;
  accountId: string;
  externalKey: string;
}

export interface SubscriptionRecord {
  tenantId: string;
  subscriptionId: string;
  bundleId: string;
  accountId: string;
  externalKey: string;
  planName: string;
  priceList: string;
  /** Entitlement start; billing may start at another instant. */
  startDate: Date;
  billingStartDate: Date;
  cancelledDate: Date | null;
  billingEndDate: Date | null;
  billCycleDayLocal: number;
  quantity: number;
  catalogEffectiveDate: Date;
  eventIds: { start: string; billing: string; stop?: string; stopBilling?: string };
}

export interface CustomFieldRecord {
  tenantId: string;
  accountId: string;
  customFieldId: string;
  objectId: string;
  objectType: 'ACCOUNT' | 'SUBSCRIPTION';
  name: string;
  value: string;
}

export interface UsageRow {
  tenantId: string;
  subscriptionId: string;
  trackingId: string;
  unitType: string;
  recordDate: Date;
  /** decimal(18,9), exactly as received (rounded to 9 places like the column). */
  amount: Decimal;
}

export class KillBillState {
  readonly tenants = new Map<string, TenantRecord>();
  readonly accounts = new Map<string, AccountRecord>();
  readonly bundles = new Map<string, BundleRecord>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  readonly customFields = new Map<string, CustomFieldRecord>();
  readonly usage: UsageRow[] = [];

  tenantByApiKey(apiKey: string): TenantRecord | undefined {
    for (const t of this.tenants.values()) if (t.apiKey === apiKey) return t;
    return undefined;
  }

  /** Accounts in creation order, which is Kill Bill's record-id order. */
  accountsOf(tenantId: string): AccountRecord[] {
    return [...this.accounts.values()].filter((a) => a.tenantId === tenantId);
  }

  bundlesOf(accountId: string): BundleRecord[] {
    return [...this.bundles.values()].filter((b) => b.accountId === accountId);
  }

  subscriptionsOfBundle(bundleId: string): SubscriptionRecord[] {
    return [...this.subscriptions.values()].filter((s) => s.bundleId === bundleId);
  }

  subscriptionsOfAccount(accountId: string): SubscriptionRecord[] {
    return [...this.subscriptions.values()].filter((s) => s.accountId === accountId);
  }
}
