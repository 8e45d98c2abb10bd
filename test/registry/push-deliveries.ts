import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultProxy, ProxiedRequest } from '../support/fault-proxy.js';
import type { KillBillServer } from '../support/killbill-server.js';

/** The body Kill Bill POSTs to a tenant's callback (NotificationJson). */
export interface PushNotification {
  eventType: string;
  accountId: string | null;
  objectType: string;
  objectId: string | null;
  metaData: string | null;
}

/** One attempt of Kill Bill's to deliver a notification, as the proxy in front of the intake saw it. */
export interface Delivery {
  notification: PushNotification;
  /** The body exactly as sent: a retry sends the same again, and a test can replay it. */
  body: string;
  outcome: ProxiedRequest['outcome'];
  at: number;
}

const CALLBACK = { method: 'POST', path: '/killbill/notifications' } as const;
const REFUSED = { kind: 'status', status: 503 } as const;

const delivered = (d: Delivery): boolean => typeof d.outcome === 'number' && d.outcome < 300;
const answered = (r: ProxiedRequest): boolean => r.outcome !== 'hang';

/**
 * How many times the server retries a push it could not deliver: `retries` of its properties, which
 * scripts/killbill.sh writes (1s,2s,4s unless KILLBILL_NOTIFICATION_RETRIES says otherwise).
 */
export function pushRetries(server: KillBillServer): number {
  const properties = readFileSync(join(server.stateDir, 'killbill.properties'), 'utf8');
  const line = /^org\.killbill\.billing\.server\.notifications\.retries=(.*)$/m.exec(properties);
  if (!line) throw new Error(`${server.stateDir}/killbill.properties sets no push retry schedule`);
  return line[1]!.split(',').filter((s) => s.trim() !== '').length;
}

/**
 * What the REAL Kill Bill pushes to the bridge's callback, seen by a fault proxy the callback is registered
 * behind. Refusing deliveries there makes Kill Bill retry them on its own schedule, then give up.
 */
export class PushDeliveries {
  private stopped = false;

  constructor(
    readonly proxy: FaultProxy,
    /** Retries after a first failed attempt (see {@link pushRetries}). */
    private readonly retries: number,
  ) {}

  /** Every delivery attempt so far, in the order they reached the proxy. */
  all(): Delivery[] {
    return this.proxy.seen(CALLBACK).map((r) => ({
      notification: JSON.parse(r.body) as PushNotification,
      body: r.body,
      outcome: r.outcome,
      at: r.at,
    }));
  }

  /** The attempts of the notifications that `which` picks. */
  of(which: (n: PushNotification) => boolean): Delivery[] {
    return this.all().filter((d) => which(d.notification));
  }

  /** Every delivery fails (503) until {@link resume}: Kill Bill retries each, then drops it. */
  stop(): void {
    this.stopped = true;
    this.proxy.failAll(REFUSED, CALLBACK);
  }

  resume(): void {
    this.stopped = false;
    this.proxy.heal();
  }

  /**
   * Every attempt of the first notification that `which` picks is answered 503 until a notification that
   * `after` picks has been delivered, so Kill Bill's retry brings it after that one. Refused, not held: Kill
   * Bill pushes one notification at a time, so a retry held on the wire would also hold back the newer one
   * (a CI run at load saw the hold time out and the retry pass first). Kill Bill gives up after its last
   * retry, so the newer one must arrive within the retry schedule (1 s, 2 s, 4 s by default).
   */
  failFirst(which: (n: PushNotification) => boolean, after: (n: PushNotification) => boolean): void {
    let picked: string | undefined;
    this.proxy.beforeForward = async (req) => {
      if (req.method !== CALLBACK.method || !req.path.startsWith(CALLBACK.path)) return;
      if (picked === undefined && which(JSON.parse(req.body) as PushNotification)) picked = req.body;
      if (req.body !== picked || this.of(after).some(delivered)) return;
      // Taken by this very request: nothing else is on the wire while Kill Bill waits for its answer.
      this.proxy.failNext(1, REFUSED, CALLBACK);
    };
  }

  /**
   * True while a delivery is on the wire, or (unless stopped) a notification whose last attempt failed
   * still has a retry to come.
   */
  pending(): boolean {
    if (this.proxy.seen(CALLBACK).some((r) => !answered(r))) return true;
    if (this.stopped) return false;
    const attempts = new Map<string, Delivery[]>();
    for (const d of this.all()) attempts.set(d.body, [...(attempts.get(d.body) ?? []), d]);
    return [...attempts.values()].some(
      (list) => !delivered(list[list.length - 1]!) && list.length <= this.retries,
    );
  }
}
