import type { AxiosResponse } from 'axios';
import type { Invoice, InvoiceItem, RolledUpUsage } from 'killbill';
import type { KillBillClient } from './killbill-client.js';

export type { Invoice, InvoiceItem };

/**
 * What Kill Bill holds and bills for an account: the reads `bridge reconcile` compares with CloudKitty.
 * They go through the tenant client's `call`, so they count in the same request metrics and tell the same
 * dependency watch whether Kill Bill answered; kept apart from killbill-client.ts, which the sync uses.
 */
export class BillingReads {
  constructor(private readonly kb: KillBillClient) {}

  /**
   * Units recorded for a subscription over `[from, to)`, per unit type, as Kill Bill sums them. The bounds
   * go as instants: Kill Bill 0.24 parses them as date-times (a bare date would be midnight UTC, not the
   * account's period boundary), and counts `record_date >= from AND record_date < to`.
   */
  async usage(subscriptionId: string, from: Date, to: Date): Promise<RolledUpUsage> {
    const res = await this.kb.call('get usage', () =>
      this.kb.usages.getAllUsage(subscriptionId, from.toISOString(), to.toISOString()),
    );
    return res.data;
  }

  /** Every invoice of the account with its items (voided ones left out: they bill nothing). */
  async invoices(accountId: string): Promise<Invoice[]> {
    const res = await this.kb.call('list account invoices', () =>
      // 0.24 names the "with items" flag includeInvoiceComponents (0.22 called it withItems).
      this.kb.accounts.getInvoicesForAccount(accountId, undefined, undefined, false, false, false, true),
    );
    return res.data ?? [];
  }

  /**
   * The invoice Kill Bill would generate for the account at `targetDate` (its local date), stored nowhere:
   * what it WILL bill for a period not invoiced yet, or what late usage adds to one that is. Null when
   * there is nothing to invoice (204).
   */
  async dryRun(accountId: string, targetDate: string): Promise<Invoice | null> {
    const res: AxiosResponse<Invoice> = await this.kb.call('dry-run invoice', () =>
      this.kb.invoices.generateDryRunInvoice(
        { dryRunType: 'TARGET_DATE' },
        accountId,
        this.kb.createdBy,
        targetDate,
      ),
    );
    return res.status === 204 || !res.data ? null : res.data;
  }
}
