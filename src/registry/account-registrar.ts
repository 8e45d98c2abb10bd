import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import { PagedListings } from '../clients/killbill/paged-listings.js';
import type { Logger } from '../logging/logger.js';
import { TenantNotConfiguredError } from '../errors/index.js';
import { resolveAccount, type AccountResolution, type FieldView } from './account-resolution.js';
import type { RegistryStore } from './registry-store.js';
import { TenantReading } from './tenant-reading.js';

export interface AccountRegistrarOptions {
  clients: ReadonlyMap<string, KillBillClient>;
  store: RegistryStore;
  metricUnits: Readonly<Record<string, string>>;
  logger: Logger;
  /** Accounts written to the registry at once by {@link AccountRegistrar.reconcileTenant}. Default 8. */
  concurrency?: number;
  /** Rows per page of Kill Bill's listings read by {@link AccountRegistrar.reconcileTenant}. Default 1000. */
  pageSize?: number;
}

interface ObjectField {
  objectType?: string;
  objectId?: string;
  name: string;
  value: string;
}

/** The fields Kill Bill holds on one object, out of an account's `allCustomFields`. */
const fieldsOn = (fields: ObjectField[], objectType: string, objectId: string): FieldView[] =>
  fields
    .filter((f) => f.objectType === objectType && f.objectId === objectId)
    .map((f) => ({ name: f.name, value: f.value }));

/**
 * Runs `work` over `items`, at most `limit` at once. A failure stops its lane taking more; the others
 * finish what they hold before the first failure is thrown, so nothing runs on after the caller gave up.
 */
async function eachAtOnce<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, lane);
  const settled = await Promise.allSettled(lanes);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/**
 * Keeps the registry in step with Kill Bill. Notifications carry ids only, and arrive late, twice or out
 * of order, so every refresh re-reads the account's current state and replaces what the registry held.
 */
export class AccountRegistrar {
  constructor(private readonly options: AccountRegistrarOptions) {}

  private client(tenant: string): KillBillClient {
    const client = this.options.clients.get(tenant);
    if (!client) throw new TenantNotConfiguredError(tenant);
    return client;
  }

  /** Re-reads one account and stores what it meters. An account Kill Bill no longer knows meters nothing. */
  async refreshAccount(
    tenant: string,
    accountId: string,
    catalogUnits?: Set<string> | null,
  ): Promise<AccountResolution> {
    const { store, logger } = this.options;
    const kb = this.client(tenant);
    const readAt = await store.now();
    const units = catalogUnits === undefined ? await kb.getCatalogUnits() : catalogUnits;
    const resolution = await this.readAccount(tenant, accountId, units);
    // An id the tenant does not know, and the registry never held (another tenant's, or made up): nothing
    // to remove, and recording it would let any notification plant ids in this tenant's registry.
    if (resolution === null && !(await store.account(tenant, accountId))) {
      logger.info(
        { event: 'registry.account_unknown', tenant, accountId },
        'Kill Bill does not know this account in this tenant; nothing recorded',
      );
      return { entries: [], problems: [] };
    }
    const known = resolution ?? { entries: [], problems: [] };
    await this.store(tenant, accountId, known, readAt);
    return known;
  }

  /** Stores what was resolved for an account, unless a newer reading was stored meanwhile, and says so. */
  private async store(tenant: string, accountId: string, known: AccountResolution, readAt: number) {
    const { store, logger } = this.options;
    const stored = await store.replaceAccount(tenant, accountId, known, readAt);
    for (const p of known.problems) {
      logger.warn({ event: 'registry.problem', tenant, ...p }, `not metered as asked: ${p.message}`);
    }
    logger.info(
      {
        event: stored ? 'registry.account_refreshed' : 'registry.account_stale_reading',
        tenant,
        accountId,
        metered: known.entries.filter((e) => e.status === 'metered').map((e) => e.subscriptionId),
        notMetered: known.entries.filter((e) => e.status !== 'metered').map((e) => e.subscriptionId),
      },
      stored ? 'registry updated for account' : 'a newer reading of the account was already stored',
    );
  }

  /** What the account meters as Kill Bill has it now; null when the tenant has no such account. */
  private async readAccount(
    tenant: string,
    accountId: string,
    units: Set<string> | null,
  ): Promise<AccountResolution | null> {
    const kb = this.client(tenant);
    const account = await kb.getAccount(accountId);
    if (!account?.accountId) return null;
    // One call for the fields of the account and all its subscriptions: per-subscription reads made a
    // registry rebuild cost 3 + N calls per account.
    const [allFields, bundles] = await Promise.all([
      kb.getAllCustomFields(accountId),
      kb.getAccountBundles(accountId),
    ]);
    const fields = (allFields ?? []) as ObjectField[];
    const withFields = (bundles ?? [])
      .flatMap((b) => b.subscriptions ?? [])
      .filter((s) => s.subscriptionId)
      .map((s) => ({
        subscription: { ...s, subscriptionId: s.subscriptionId! },
        fields: fieldsOn(fields, 'SUBSCRIPTION', s.subscriptionId!),
      }));
    return resolveAccount({
      tenantApiKey: tenant,
      account: { ...account, accountId: account.accountId },
      accountFields: fieldsOn(fields, 'ACCOUNT', accountId),
      subscriptions: withFields,
      catalogUnits: units,
      metricUnits: this.options.metricUnits,
    });
  }

  /**
   * Rebuilds the tenant's registry from Kill Bill's paged listings, healing missed notifications: a call
   * per page of custom fields, bundles and accounts, where re-reading each account took three calls. Every
   * account is stored as read at the start, so a notification's newer reading made meanwhile is kept.
   */
  async reconcileTenant(tenant: string): Promise<{ accounts: number; metered: number }> {
    const { store, logger, metricUnits } = this.options;
    const kb = this.client(tenant);
    const started = await store.now();
    const catalogUnits = await kb.getCatalogUnits();
    const reading = await TenantReading.read(new PagedListings(kb, this.options.pageSize));
    const seen = new Set<string>();
    let metered = 0;
    for await (const page of reading.accounts()) {
      await eachAtOnce(page, this.options.concurrency ?? 8, async (listed) => {
        const { accountId } = listed.account;
        seen.add(accountId);
        const resolution = resolveAccount({ ...listed, tenantApiKey: tenant, catalogUnits, metricUnits });
        await this.store(tenant, accountId, resolution, started);
        metered += resolution.entries.filter((e) => e.status === 'metered').length;
      });
    }
    // Accounts the registry holds but Kill Bill no longer lists (another tenant's, or removed).
    for (const accountId of await store.accountIds(tenant)) {
      if (!seen.has(accountId)) await this.refreshAccount(tenant, accountId, catalogUnits);
    }
    await store.markReconciled(tenant, started, seen.size);
    logger.info(
      { event: 'registry.reconciled', tenant, accounts: seen.size, metered },
      'registry reconciled with Kill Bill',
    );
    return { accounts: seen.size, metered };
  }
}
