import { accountCredits } from '../clients/killbill/account-credits.js';
import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import type { KillBillSlots } from './kill-bill-slots.js';
import type { RecordObserver } from './record-observer.js';
import type { GivenCredit, PendingWindow } from './usage-ledger.js';

/** Whose records and credits these are: the ids every log line and metric carries. */
export interface RecordedSubscription {
  tenantApiKey: string;
  accountId: string;
  subscriptionId: string;
}

/** What recording one subscription talks to and tells. */
export interface RecordContext {
  kb: KillBillClient;
  entry: RecordedSubscription;
  logger: Logger;
  /** Told of each record and credit once Kill Bill holds it. */
  observer: RecordObserver;
  /** Bounds the Kill Bill calls of runs side by side; without it the caller's own concurrency does. */
  slots?: KillBillSlots;
}

/**
 * Gives a pending window's credits, each once. A credit left pending by an interrupted run (`resumed`) may
 * have been given with its answer lost: Kill Bill has no idempotency key for credits, so the account is
 * searched for the credit's description first and a match is confirmed, not given again. A fresh pending
 * credit was saved by this run a moment ago and cannot have been given yet, so it skips the search.
 */
export async function giveCredits(
  ctx: RecordContext,
  pending: PendingWindow,
  resumed: boolean,
): Promise<GivenCredit[]> {
  // Most windows have no credit: their record alone never loads the generated client (generated-client.ts).
  if (!pending.credits?.length) return [];
  const { kb, entry, logger } = ctx;
  const credits = accountCredits(kb);
  const given: GivenCredit[] = [];
  for (const c of pending.credits) {
    const found = resumed ? await credits.find(entry.accountId, c.description) : null;
    const item = found ?? (await credits.give(entry.accountId, c.cents, c.description));
    if (found && found.cents !== c.cents) {
      // Our key with another amount is nobody's doing we know of; giving again would credit twice.
      logger.warn(
        { event: 'sync.credit_amount_differs', accountId: entry.accountId, credit: c, found },
        'Kill Bill holds our credit with another amount; kept as it is',
      );
    }
    given.push({
      revision: pending.revision,
      unitType: c.unitType,
      cents: c.cents,
      description: c.description,
      invoiceItemId: item.invoiceItemId,
    });
    const outcome = found ? 'already-credited' : 'credited';
    ctx.observer.credited?.({ tenant: entry.tenantApiKey, unitType: c.unitType, cents: c.cents, outcome });
    logger.info(
      {
        event: found ? 'sync.credit_already_given' : 'sync.credit_given',
        tenant: entry.tenantApiKey,
        accountId: entry.accountId,
        subscriptionId: entry.subscriptionId,
        description: c.description,
        cents: c.cents,
        invoiceItemId: item.invoiceItemId,
      },
      found
        ? 'Kill Bill already had this credit (its answer was lost)'
        : 'downward correction given as an account credit in Kill Bill',
    );
  }
  return given;
}
