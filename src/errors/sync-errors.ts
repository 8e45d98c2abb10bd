import { BridgeError, isRetryable, type ErrorIds } from './bridge-error.js';

/**
 * Another run has, or may have, the subscription's lock. Retryable: a later try finds the lock free, and
 * the ledger as the other run left it.
 */
export abstract class SubscriptionLockError extends BridgeError {
  readonly retryable = true;

  constructor(
    readonly tenant: string,
    readonly subscriptionId: string,
    message: string,
  ) {
    super(message, { ids: { tenant, subscriptionId } });
  }
}

/** Another process holds the subscription's lock past the wait: its sync is alive, or died moments ago. */
export class SubscriptionBusyError extends SubscriptionLockError {
  constructor(tenant: string, subscriptionId: string, waitedMs: number) {
    super(
      tenant,
      subscriptionId,
      `another sync of subscription ${subscriptionId} held its lock for ${waitedMs} ms more`,
    );
  }
}

/** The lock could not be renewed (Redis away, or it expired): another run may be planning the same windows. */
export class SubscriptionLockLostError extends SubscriptionLockError {
  constructor(tenant: string, subscriptionId: string) {
    super(
      tenant,
      subscriptionId,
      `lost the lock of subscription ${subscriptionId}; stopped before sending more`,
    );
  }
}

/** What a subscription's sync did before it stopped: the sync's own result, as much as the error needs. */
export interface SyncedSoFar {
  subscriptionId: string;
  error?: string;
}

/**
 * One subscription's sync stopped part way. It carries what the run did before it stopped, so a summary
 * never under-reports records that Kill Bill already holds, and the ids an operator needs to act.
 * Retryable as its cause is.
 */
export class SubscriptionSyncError<R extends SyncedSoFar = SyncedSoFar> extends BridgeError {
  readonly tenant: string;
  readonly subscriptionId: string;
  readonly retryable: boolean;
  readonly result: R & { error: string };

  constructor(tenant: string, result: R, cause: unknown, ids: Pick<ErrorIds, 'accountId' | 'window'> = {}) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`sync of subscription ${result.subscriptionId} (tenant ${tenant}) failed: ${message}`, {
      cause,
      ids: { ...ids, tenant, subscriptionId: result.subscriptionId },
    });
    this.tenant = tenant;
    this.subscriptionId = result.subscriptionId;
    this.retryable = isRetryable(cause);
    this.result = { ...result, error: message };
  }
}

/** The sync broke one of its own rules (a bug, not bad input): not retryable, the same run breaks it again. */
export class SyncInvariantError extends BridgeError {
  readonly retryable = false;
}
