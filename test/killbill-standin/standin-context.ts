import type { ExtBusEventType, NotificationJson, PushNotificationQueue } from './push-notifications.js';
import type { KillBillState, TenantRecord } from './state.js';

/** What every resource needs: the in-memory database, the event bus towards callbacks, and the clock. */
export interface StandinContext {
  state: KillBillState;
  push: PushNotificationQueue;
  now(): Date;
  /** Runs an effect when a future-dated change takes effect (e.g. a subscription starting later). */
  at(when: Date, effect: () => void): void;
}

/** Posts an external bus event to the tenant's callback, if one is registered. */
export function notify(
  ctx: StandinContext,
  tenant: TenantRecord,
  eventType: ExtBusEventType,
  objectType: string,
  objectId: string | null,
  accountId: string | null,
  metaData: Record<string, unknown> | null = null,
): void {
  const body: NotificationJson = {
    eventType,
    accountId,
    objectType,
    objectId,
    metaData: metaData === null ? null : JSON.stringify(metaData),
  };
  ctx.push.post(tenant.tenantId, tenant.callbackUrl, body);
}
