import { Decimal } from 'decimal.js';
import type { AccountApi, CreditApi, Invoice, InvoiceItem } from 'killbill';
import { generated } from './generated-client.js';
import { KillBillError, UnsafeCentsError } from '../../errors/index.js';
import type { KillBillClient } from './killbill-client.js';

/** One account credit as Kill Bill holds it: `cents` > 0 is the money given back. */
export interface AccountCredit {
  invoiceItemId: string;
  invoiceId: string | null;
  cents: number;
  description: string;
}

// Below 10^15 a whole number of cents divided by 100 prints (and is parsed by Kill Bill) as its exact
// two-place decimal: the shortest round-trip text of the nearest double has at most 15 significant digits.
const MAX_CREDIT_CENTS = 1e15 - 1;

/**
 * Account credits in Kill Bill: the money a downward correction gives back for a period Kill Bill may already
 * have invoiced, where negative usage would fail its next invoice run. Kill Bill gives credits no idempotency
 * key, so the caller's key is the item's description, and {@link find} looks for it before a retry.
 */
export class AccountCredits {
  private readonly credits: CreditApi;
  private readonly accounts: AccountApi;

  constructor(private readonly kb: KillBillClient) {
    this.credits = kb.api(generated().CreditApi);
    this.accounts = kb.api(generated().AccountApi);
  }

  /** Gives `cents` of credit in the account's currency, committed at once (a draft credit would apply nothing). */
  async give(accountId: string, cents: number, description: string): Promise<AccountCredit> {
    if (!Number.isSafeInteger(cents) || cents <= 0 || cents > MAX_CREDIT_CENTS) {
      throw new UnsafeCentsError(`a credit must be a positive whole number of cents: ${cents}`);
    }
    // 0.24 and 0.22.26 both take a JSON array of items here (0.24 answers 201, 0.22.26 200).
    const body = [{ accountId, amount: cents / 100, description } as InvoiceItem];
    const res = await this.kb.call<InvoiceItem[]>('give credit', () =>
      this.credits.createCredits(body, this.kb.createdBy, true),
    );
    const item = (res.data ?? []).find((i) => i.description === description);
    if (!item) {
      throw new KillBillError(
        'give credit',
        'the answer holds no item with our description',
        res.status,
        null,
        true,
      );
    }
    return toCredit(item);
  }

  /** The account's credit item with exactly this description, or null when it has none. */
  async find(accountId: string, description: string): Promise<AccountCredit | null> {
    return (await this.list(accountId)).find((c) => c.description === description) ?? null;
  }

  /** Every credit item on the account's (not voided) invoices. */
  async list(accountId: string): Promise<AccountCredit[]> {
    const res = await this.kb.call<Invoice[]>('list invoices', () =>
      // includeInvoiceComponents (0.24) brings the items; 0.22.26 lists them whatever it is told.
      this.accounts.getInvoicesForAccount(accountId, undefined, undefined, false, false, false, true),
    );
    return (res.data ?? [])
      .flatMap((invoice) => invoice.items ?? [])
      .filter((i) => i.itemType === 'CREDIT_ADJ')
      .map(toCredit);
  }
}

function toCredit(item: InvoiceItem): AccountCredit {
  // Kill Bill answers the created item with a positive amount and lists it on the invoice as a negative one.
  const cents = new Decimal(String(item.amount ?? 0)).abs().times(100);
  return {
    invoiceItemId: item.invoiceItemId,
    invoiceId: item.invoiceId ?? null,
    cents: cents.isInteger() ? cents.toNumber() : Number.NaN,
    description: item.description ?? '',
  };
}

const perClient = new WeakMap<KillBillClient, AccountCredits>();

/** The credits API of one tenant's client. */
export function accountCredits(kb: KillBillClient): AccountCredits {
  let credits = perClient.get(kb);
  if (!credits) perClient.set(kb, (credits = new AccountCredits(kb)));
  return credits;
}
