import type { KillBillClient } from '../killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import { resolveAccount, type AccountResolution, type FieldView } from './account-resolution.js';
import type { RegistryStore } from './registry-store.js';

export interface AccountRegistrarOptions {
  clients: ReadonlyMap<string, KillBillClient>;
  store: RegistryStore;
  metricUnits: Readonly<Record<string, string>>;
  logger: Logger;
}

const fieldsOf = (fields: Array<{ name: string; value: string }> | null): FieldView[] =>
  (fields ?? []).map((f) => ({ name: f.name, value: f.value }));

/**
 * Keeps the registry in step with Kill Bill. Notifications carry ids only, and arrive late, twice or out
 * of order, so every refresh re-reads the account's current state and replaces what the registry held.
 */
export class AccountRegistrar {
  constructor(private readonly options: AccountRegistrarOptions) {}

  private client(tenant: string): KillBillClient {
    const client = this.options.clients.get(tenant);
    if (!client) throw new Error(`tenant ${tenant} is not configured`);
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
    return known;
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
    const [accountFields, bundles] = await Promise.all([
      kb.getAccountCustomFields(accountId),
      kb.getAccountBundles(accountId),
    ]);
    const subscriptions = (bundles ?? []).flatMap((b) => b.subscriptions ?? []);
    const withFields = await Promise.all(
      subscriptions
        .filter((s) => s.subscriptionId)
        .map(async (s) => ({
          subscription: { ...s, subscriptionId: s.subscriptionId! },
          fields: fieldsOf(await kb.getSubscriptionCustomFields(s.subscriptionId!)),
        })),
    );
    return resolveAccount({
      tenantApiKey: tenant,
      account: { ...account, accountId: account.accountId },
      accountFields: fieldsOf(accountFields),
      subscriptions: withFields,
      catalogUnits: units,
      metricUnits: this.options.metricUnits,
    });
  }

  /** Rebuilds the tenant's registry from every account, page by page, healing missed notifications. */
  async reconcileTenant(tenant: string): Promise<{ accounts: number; metered: number }> {
    const { store, logger } = this.options;
    const kb = this.client(tenant);
    const started = await store.now();
    const units = await kb.getCatalogUnits();
    const seen = new Set<string>();
    let metered = 0;
    for await (const page of kb.allAccounts()) {
      for (const account of page) {
        if (!account.accountId) continue;
        seen.add(account.accountId);
        const r = await this.refreshAccount(tenant, account.accountId, units);
        metered += r.entries.filter((e) => e.status === 'metered').length;
      }
    }
    // Accounts the registry holds but Kill Bill no longer lists (another tenant's, or removed).
    for (const accountId of await store.accountIds(tenant)) {
      if (!seen.has(accountId)) await this.refreshAccount(tenant, accountId, units);
    }
    await store.markReconciled(tenant, started, seen.size);
    logger.info(
      { event: 'registry.reconciled', tenant, accounts: seen.size, metered },
      'registry reconciled with Kill Bill',
    );
    return { accounts: seen.size, metered };
  }
}
