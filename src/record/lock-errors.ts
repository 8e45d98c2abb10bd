/** Another process holds the subscription's lock past the wait: its sync is alive, or died moments ago. */
export class SubscriptionBusyError extends Error {
  constructor(
    readonly tenant: string,
    readonly subscriptionId: string,
    waitedMs: number,
  ) {
    super(`another sync of subscription ${subscriptionId} held its lock for ${waitedMs} ms more`);
    this.name = 'SubscriptionBusyError';
  }
}

/** The lock could not be renewed (Redis away, or it expired): another run may be planning the same windows. */
export class SubscriptionLockLostError extends Error {
  constructor(
    readonly tenant: string,
    readonly subscriptionId: string,
  ) {
    super(`lost the lock of subscription ${subscriptionId}; stopped before sending more`);
    this.name = 'SubscriptionLockLostError';
  }
}
