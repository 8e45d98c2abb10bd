import type { LeanRead, LedgerWindow, UsageLedger } from './usage-ledger.js';
import { SubscriptionBusyError, SubscriptionLockLostError } from '../errors/index.js';

/** A subscription's ledger read under its lock, and the only way to write it while the lock is this run's. */
export interface HeldLedger {
  /** The ledger as read with the lock: whole, or only the windows a {@link LeanRead} named. */
  windows: ReadonlyMap<string, LedgerWindow>;
  whole: boolean;
  /** The whole ledger, read again while the lock is held. */
  readWhole(): Promise<Map<string, LedgerWindow>>;
  /** Throws once a renewal found the lock gone: nothing more may be sent. */
  assertHeld(): void;
  /** Writes planned windows (revisions pending among them) before anything is sent for them. */
  save(windows: Map<string, LedgerWindow>): Promise<void>;
  /**
   * Writes windows Kill Bill has all of (and, at the end of the run, the watermark and the release) in one
   * call that fails when the lock is no longer ours: a run that lost it leaves its windows pending, and the
   * next run's resend is answered "already recorded".
   */
  commit(
    windows: ReadonlyMap<string, LedgerWindow>,
    end?: { watermark: string; release: true },
  ): Promise<void>;
  /** Stops renewing and gives the lock up if the run still has it. */
  stop(): Promise<void>;
}

export interface HoldOptions {
  /** Read only the windows it names when the ledger is settled where the run starts. */
  lean?: LeanRead;
  /**
   * Every ledger call (lock and read, save, commit) may wait a little for other runs' calls to share a write to
   * Redis ({@link LedgerBatch}); the run counts itself in the ledger's batch until it stops. For the runs of a
   * `bridge sync`, many side by side: a worker's job runs alone, and nothing would come to share its write.
   */
  linger?: boolean;
}

/**
 * Takes the subscription's lock and reads its ledger (whole, or as `lean` allows) in one round trip, and keeps
 * the lock alive every third of its TTL. Waiting a little over one TTL lets a run go ahead after a crashed
 * one's lock lapses.
 */
export async function holdLedger(
  ledger: UsageLedger,
  tenant: string,
  subscriptionId: string,
  ttl: number,
  { lean, linger = false }: HoldOptions = {},
): Promise<HeldLedger> {
  const waitMs = ttl + 1_000;
  // Counted from its first call; a lock held elsewhere keeps it out of the batch while it waits, which holds
  // the others' calls no longer than the batch's linger.
  const leave = linger ? ledger.batch.join() : () => {};
  const held = await ledger.lockAndRead(tenant, subscriptionId, ttl, waitMs, lean, linger).catch((err) => {
    leave();
    throw err;
  });
  if (!held) {
    leave();
    throw new SubscriptionBusyError(tenant, subscriptionId, waitMs);
  }
  const { lock, windows, whole } = held;
  let lost = false;
  // Once a commit has released the lock, stopping asks Redis nothing more: a round trip per subscription.
  let released = false;
  const renew = setInterval(
    () =>
      void lock.extend().then(
        (ok) => (lost ||= !ok),
        () => (lost = true),
      ),
    ttl / 3,
  );
  return {
    windows,
    whole,
    readWhole: () => ledger.windows(tenant, subscriptionId),
    assertHeld: () => {
      if (lost) throw new SubscriptionLockLostError(tenant, subscriptionId);
    },
    save: async (written) => {
      if (!(await lock.save(written, linger))) throw new SubscriptionLockLostError(tenant, subscriptionId);
    },
    commit: async (written, end) => {
      if (!(await lock.commit(written, { ...end, linger })))
        throw new SubscriptionLockLostError(tenant, subscriptionId);
      released = end?.release === true;
    },
    stop: async () => {
      clearInterval(renew);
      leave();
      if (!released) await lock.release().catch(() => {});
    },
  };
}
