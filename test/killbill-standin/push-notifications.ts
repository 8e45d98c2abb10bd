import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

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

export interface DeliveryAttempt {
  at: Date;
  /** HTTP status when the callback answered. */
  status?: number;
  /** Why no usable answer came: timeout or connection error. */
  error?: string;
}

export interface PushNotification {
  id: string;
  tenantId: string;
  url: string;
  body: NotificationJson;
  state: 'pending' | 'delivered' | 'gave-up';
  attempts: DeliveryAttempt[];
  nextAttemptAt: Date | null;
}

export const DEFAULT_RETRY_SCHEDULE = '15m,30m,2h,12h,1d';
export const DEFAULT_DELIVERY_TIMEOUT_MS = 15_000;

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
  private readonly notifications: PushNotification[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<() => void>();
  /** First attempts go out one at a time per tenant, in event order, as the bus handler does. */
  private readonly tenantChains = new Map<string, Promise<void>>();
  private stopped = false;
  private closed = false;

  constructor(
    private readonly retryScheduleMs: number[],
    private readonly deliveryTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  post(tenantId: string, url: string | null, body: NotificationJson): void {
    if (!url || this.closed) return;
    const notification: PushNotification = {
      id: randomUUID(),
      tenantId,
      url,
      body,
      state: 'pending',
      attempts: [],
      nextAttemptAt: new Date(),
    };
    this.notifications.push(notification);
    const previous = this.tenantChains.get(tenantId) ?? Promise.resolve();
    const next = previous.then(() => this.attempt(notification));
    this.tenantChains.set(tenantId, next);
  }

  list(): PushNotification[] {
    return this.notifications.map((n) => ({ ...n, body: { ...n.body }, attempts: [...n.attempts] }));
  }

  stop(): void {
    this.stopped = true;
  }

  reset(): void {
    this.clearTimers();
    this.notifications.length = 0;
    this.tenantChains.clear();
    this.stopped = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearTimers();
    for (const abort of this.inFlight) abort();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async attempt(n: PushNotification): Promise<void> {
    if (this.closed || n.state !== 'pending') return;
    // While stopped the notification stays due, and is never sent.
    if (this.stopped) return;
    n.nextAttemptAt = null;
    const outcome = await this.send(n);
    if (this.closed) return;
    n.attempts.push(outcome);
    const ok =
      outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300 && !outcome.error;
    if (ok) {
      n.state = 'delivered';
      return;
    }
    const retry = n.attempts.length - 1;
    const delay = this.retryScheduleMs[retry];
    if (delay === undefined) {
      n.state = 'gave-up';
      this.logger.warn(
        { url: n.url, eventType: n.body.eventType },
        'Max attempt number reached for push notification',
      );
      return;
    }
    n.nextAttemptAt = new Date(Date.now() + delay);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(n);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private send(n: PushNotification): Promise<DeliveryAttempt> {
    const at = new Date();
    const payload = Buffer.from(JSON.stringify(n.body), 'utf8');
    return new Promise((resolve) => {
      let settled = false;
      const cleanups: (() => void)[] = [];
      const finish = (result: DeliveryAttempt): void => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        resolve(result);
      };
      let url: URL;
      try {
        url = new URL(n.url);
      } catch {
        finish({ at, error: `invalid callback URL ${n.url}` });
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
        finish({ at, error: 'stand-in closed' });
      };
      this.inFlight.add(abort);
      cleanups.push(() => this.inFlight.delete(abort));
      // One budget for connect and answer, like the 15 s connect and request timeouts.
      const timer = setTimeout(() => {
        req.destroy();
        finish({ at, error: `timeout after ${this.deliveryTimeoutMs} ms` });
      }, this.deliveryTimeoutMs);
      cleanups.push(() => clearTimeout(timer));
      req.on('response', (res) => {
        res.resume();
        finish({ at, status: res.statusCode ?? 0 });
      });
      req.on('error', (err) => finish({ at, error: err.message }));
      req.end(payload);
    });
  }
}
