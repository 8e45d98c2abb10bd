/**
 * Kill Bill 0.24's event types (ExtBusEventType), the object types each may carry, and what the bridge
 * does with it. Source: contract §2.4.
 */
export type EventAction =
  /** Re-read the account from Kill Bill and update the registry. */
  | 'registry'
  /** Rebuild the tenant's whole registry (the catalog, and so the units, may have changed). */
  | 'reconcile'
  /** Acknowledge and count; nothing in it changes what is metered. */
  | 'ignore';

export interface EventTypeRule {
  objectTypes: readonly string[];
  action: EventAction;
  /** The event has no account (tenant-wide). */
  accountless?: boolean;
  /** objectId may be null. */
  nullObject?: boolean;
  /** metaData carries SubscriptionMetadata. */
  subscriptionMetadata?: boolean;
}

const SUBSCRIPTION_EVENT: EventTypeRule = {
  objectTypes: ['SUBSCRIPTION'],
  action: 'registry',
  subscriptionMetadata: true,
};

export const EVENT_TYPES: Readonly<Record<string, EventTypeRule>> = {
  ACCOUNT_CREATION: { objectTypes: ['ACCOUNT'], action: 'registry' },
  ACCOUNT_CHANGE: { objectTypes: ['ACCOUNT'], action: 'registry' },
  BLOCKING_STATE: { objectTypes: ['ACCOUNT', 'BUNDLE', 'SUBSCRIPTION'], action: 'registry' },
  BROADCAST_SERVICE: {
    objectTypes: ['SERVICE_BROADCAST'],
    action: 'ignore',
    accountless: true,
    nullObject: true,
  },
  SUBSCRIPTION_CREATION: SUBSCRIPTION_EVENT,
  SUBSCRIPTION_PHASE: SUBSCRIPTION_EVENT,
  SUBSCRIPTION_CHANGE: SUBSCRIPTION_EVENT,
  SUBSCRIPTION_CANCEL: SUBSCRIPTION_EVENT,
  SUBSCRIPTION_UNCANCEL: SUBSCRIPTION_EVENT,
  SUBSCRIPTION_BCD_CHANGE: SUBSCRIPTION_EVENT,
  SUBSCRIPTION_QUANTITY: SUBSCRIPTION_EVENT,
  SUBSCRIPTION_EXPIRED: SUBSCRIPTION_EVENT,
  ENTITLEMENT_CREATION: { objectTypes: ['SUBSCRIPTION', 'BUNDLE', 'ACCOUNT'], action: 'registry' },
  ENTITLEMENT_CANCEL: { objectTypes: ['SUBSCRIPTION', 'BUNDLE', 'ACCOUNT'], action: 'registry' },
  BUNDLE_PAUSE: { objectTypes: ['BUNDLE'], action: 'registry' },
  BUNDLE_RESUME: { objectTypes: ['BUNDLE'], action: 'registry' },
  OVERDUE_CHANGE: { objectTypes: ['ACCOUNT'], action: 'ignore' },
  INVOICE_CREATION: { objectTypes: ['INVOICE'], action: 'ignore' },
  INVOICE_ADJUSTMENT: { objectTypes: ['INVOICE'], action: 'ignore' },
  INVOICE_NOTIFICATION: { objectTypes: ['INVOICE'], action: 'ignore', nullObject: true },
  INVOICE_PAYMENT_SUCCESS: { objectTypes: ['INVOICE'], action: 'ignore' },
  INVOICE_PAYMENT_FAILED: { objectTypes: ['INVOICE'], action: 'ignore' },
  PAYMENT_SUCCESS: { objectTypes: ['PAYMENT'], action: 'ignore' },
  PAYMENT_FAILED: { objectTypes: ['PAYMENT'], action: 'ignore' },
  TAG_CREATION: { objectTypes: ['TAG'], action: 'ignore' },
  TAG_DELETION: { objectTypes: ['TAG'], action: 'ignore' },
  CUSTOM_FIELD_CREATION: { objectTypes: ['CUSTOM_FIELD'], action: 'registry' },
  CUSTOM_FIELD_DELETION: { objectTypes: ['CUSTOM_FIELD'], action: 'registry' },
  TENANT_CONFIG_CHANGE: { objectTypes: ['TENANT_KVS'], action: 'ignore', accountless: true },
  TENANT_CONFIG_DELETION: {
    objectTypes: ['TENANT_KVS'],
    action: 'ignore',
    accountless: true,
    nullObject: true,
  },
};

/** TENANT_CONFIG_* keys after which the registry is rebuilt: a new catalog can add or drop units. */
export const RECONCILE_ON_TENANT_KEYS = new Set(['CATALOG']);
