import { giveCredits, type RecordContext } from './credits.js';
import type { LedgerWindow, PendingWindow } from './usage-ledger.js';

/** A window whose next revision is written in the ledger as pending, to be sent. */
export interface PendingSend {
  /** The window's start (ISO), its ledger field. */
  start: string;
  window: LedgerWindow;
  pending: PendingWindow;
  /** Left pending by an interrupted run: a credit of it may already exist. */
  resumed: boolean;
}

/**
 * Sends a pending revision (its usage record, then its credits) and confirms the window once Kill Bill has all
 * of it: the revision's cents folded into the window, no longer pending. `confirm` writes it, and fails when
 * the lock is no longer this run's; only then are the record's observers told. Returns the confirmed window.
 */
export async function sendPending(
  ctx: RecordContext,
  send: PendingSend,
  confirm: (start: string, window: LedgerWindow) => Promise<void>,
): Promise<LedgerWindow> {
  const { kb, entry, logger, observer } = ctx;
  const { start, window, pending, resumed } = send;
  const talk = async () => {
    const outcome = pending.record ? await kb.recordUsage(pending.record) : null;
    return { outcome, given: await giveCredits(ctx, pending, resumed) };
  };
  // The slot is Kill Bill's alone: it is free again before the confirmation waits on Redis.
  const { outcome, given } = await (ctx.slots ? ctx.slots.run(talk) : talk());
  const confirmed = confirmedWindow(window, pending);
  if (given.length > 0) confirmed.credits = [...(window.credits ?? []), ...given];
  await confirm(start, confirmed);
  if (!pending.record || !outcome) return confirmed;
  observer.recorded({
    tenant: entry.tenantApiKey,
    cents: pending.cents,
    // Revision 0 is a window's first record; any later one corrects it.
    correction: pending.revision > 0,
    outcome,
  });
  logger.info(
    {
      event: outcome === 'recorded' ? 'sync.usage_recorded' : 'sync.usage_already_recorded',
      tenant: entry.tenantApiKey,
      accountId: entry.accountId,
      subscriptionId: entry.subscriptionId,
      trackingId: pending.record.trackingId,
      cents: pending.cents,
    },
    outcome === 'recorded' ? 'usage recorded in Kill Bill' : 'Kill Bill already had this record',
  );
  return confirmed;
}

/** The window with a revision folded in: its cents added per unit, its revision the last, nothing pending. */
function confirmedWindow(window: LedgerWindow, pending: PendingWindow): LedgerWindow {
  const { pending: _sent, ...rest } = window;
  const cents = { ...window.cents };
  for (const [unit, c] of Object.entries(pending.cents)) cents[unit] = (cents[unit] ?? 0) + c;
  return { ...rest, cents, lastRevision: pending.revision };
}
