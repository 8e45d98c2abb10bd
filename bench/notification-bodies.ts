import { randomUUID } from 'node:crypto';

/** Which bodies a scenario sends: a new account each time, or one body over and over. */
export type BodyPlan = { kind: 'distinct' } | { kind: 'repeat'; accountId: string };

/**
 * A Kill Bill 0.24 ACCOUNT_CHANGE notification, in the exact five-key shape the intake accepts.
 * For ACCOUNT events Kill Bill sends the account id as the object id too.
 */
export function accountChangeBody(accountId: string): string {
  return JSON.stringify({
    eventType: 'ACCOUNT_CHANGE',
    accountId,
    objectType: 'ACCOUNT',
    objectId: accountId,
    metaData: null,
  });
}

/**
 * The next body to send. Distinct bodies get a fresh account id each, so the intake's deduplication (tenant
 * plus exact body) never folds two requests into one job and every 200 costs a real enqueue.
 */
export function nextBody(plan: BodyPlan): string {
  return accountChangeBody(plan.kind === 'repeat' ? plan.accountId : randomUUID());
}
