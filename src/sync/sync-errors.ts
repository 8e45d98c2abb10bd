import { KillBillError } from '../clients/killbill/errors.js';
import { MeteringInputError } from '../metering/errors.js';
import type { SubscriptionSyncResult } from './subscription-sync.js';

/** Whether trying the same work again later may succeed: Kill Bill's own verdict, else yes. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof SubscriptionSyncError) return err.retryable;
  if (err instanceof KillBillError) return err.retryable;
  if (err instanceof MeteringInputError) return false;
  return true;
}

/**
 * One subscription's sync stopped part way. It carries what the run did before it stopped, so a summary
 * never under-reports records that Kill Bill already holds, and the ids an operator needs to act.
 */
export class SubscriptionSyncError extends Error {
  readonly tenant: string;
  readonly subscriptionId: string;
  readonly retryable: boolean;
  readonly result: SubscriptionSyncResult;

  constructor(tenant: string, result: SubscriptionSyncResult, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`sync of subscription ${result.subscriptionId} (tenant ${tenant}) failed: ${message}`, { cause });
    this.name = 'SubscriptionSyncError';
    this.tenant = tenant;
    this.subscriptionId = result.subscriptionId;
    this.retryable = isRetryable(cause);
    this.result = { ...result, error: message };
  }
}
