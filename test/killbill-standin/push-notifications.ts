import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * Kill Bill's push notifications (PushNotificationListener + PushNotificationRetryService): one POST per
 * event to the tenant's callback URL, success on any 2xx, and on anything else (a 3xx, since redirects
 * are not followed, a timeout, a refused connection) a retry after the next delay of the schedule,
 * counted from the failed attempt; after the last delay the event is dropped.
 */

export type ExtBusEventType =
  | 'ACCOUNT_CREATION'
  | 'ACCOUNT_CHANGE'
  | 'SUBSCRIPTION_CREATION'
  | 'SUBSCRIPTION_CHANGE'
  | 'SUBSCRIPTION_CANCEL'
  | 'ENTITLEMENT_CREATION'
  | 'ENTITLEMENT_CANCEL'
  | 'CUSTOM_FIELD_CREATION'
  | 'CUSTOM_FIELD_DELETION'
  | 'TENANT_CONFIG_CHANGE'
  | 'TENANT_CONFIG_DELETION';

/** NotificationJson, with its keys in Kill Bill's order. */
export interface NotificationJson {
  eventType: ExtBusEventType;
  accountId: string | null;
  objectType: string;
  objectId: string | null;
  metaData: string | null;
}

interface PendingNotification {
  url: string;
  body: NotificationJson;
  /** Failed attempts so far: picks the next delay of the schedule. */
  failures: number;
}

export const DEFAULT_RETRY_SCHEDULE = '15m,30m,2h,12h,1d';
/** Kill Bill's connect and request timeouts. */
const DELIVERY_TIMEOUT_MS = 15_000;

const TIME_SPAN = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `org.killbill.billing.server.notifications.retries` TimeSpans, e.g. `15m,30m,2h,12h,1d`, in ms. */
export function parseRetrySchedule(schedule: string | number[]): number[] {
  if (Array.isArray(schedule)) return schedule.map((ms) => Math.max(0, ms));
  if (!schedule.trim()) return [];
  return schedule.split(',').map((span) => {
    const m = TIME_SPAN.exec(span.trim());
    if (!m) throw new Error(`invalid retry time span '${span}' (expected e.g. 15m, 2h, 1d, 500ms)`);
    return Number(m[1]) * UNIT_MS[m[2]!]!;
  });
}

export class PushNotificationQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<() => void>();
  /** First attempts go out one at a time per tenant, in event order, as the bus handler does. */
  private readonly tenantChains = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly retryScheduleMs: number[]) {}

  post(tenantId: string, url: string | null, body: NotificationJson): void {
    if (!url || this.closed) return;
    const notification: PendingNotification = { url, body, failures: 0 };
    const previous = this.tenantChains.get(tenantId) ?? Promise.resolve();
    const next = previous.then(() => this.attempt(notification));
    this.tenantChains.set(tenantId, next);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const abort of this.inFlight) abort();
  }

  private async attempt(n: PendingNotification): Promise<void> {
    if (this.closed) return;
    const delivered = await this.send(n);
    if (this.closed || delivered) return;
    const delay = this.retryScheduleMs[n.failures++];
    // After the last delay Kill Bill drops the event.
    if (delay === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(n);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Whether the callback answered 2xx within the budget; redirects are not followed. */
  private send(n: PendingNotification): Promise<boolean> {
    const payload = Buffer.from(JSON.stringify(n.body), 'utf8');
    return new Promise((resolve) => {
      let settled = false;
      const cleanups: (() => void)[] = [];
      const finish = (delivered: boolean): void => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        resolve(delivered);
      };
      let url: URL;
      try {
        url = new URL(n.url);
      } catch {
        finish(false);
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=UTF-8',
          'User-Agent': 'KillBill/1.0',
          'Content-Length': payload.length,
        },
      });
      const abort = (): void => {
        req.destroy();
        finish(false);
      };
      this.inFlight.add(abort);
      cleanups.push(() => this.inFlight.delete(abort));
      // One budget for connect and answer.
      const timer = setTimeout(abort, DELIVERY_TIMEOUT_MS);
      cleanups.push(() => clearTimeout(timer));
      req.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        finish(status >= 200 && status < 300);
      });
      req.on('error', () => finish(false));
      req.end(payload);
    });
  }
}
