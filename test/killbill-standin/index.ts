import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { silentLogger } from '../../src/logging/logger.js';
import { createApp } from './app.js';
import { StandinControl } from './control.js';
import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  DEFAULT_RETRY_SCHEDULE,
  PushNotificationQueue,
  parseRetrySchedule,
} from './push-notifications.js';
import type { StandinContext } from './standin-context.js';
import { KillBillState, type TenantRecord } from './state.js';
import { createTenant } from './tenants.js';

export { parseCatalogXml, CatalogValidationError } from './catalog-xml.js';
export type { Catalog } from './catalog-model.js';
export type { StandinControl } from './control.js';
export type { PushNotification, NotificationJson, DeliveryAttempt } from './push-notifications.js';

export interface KillBillStandinOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Basic-auth user; default `admin`. */
  username?: string;
  /** Basic-auth password; default `password`. */
  password?: string;
  /** Push retry delays, as Kill Bill TimeSpans (`'15m,30m,2h,12h,1d'`, the default) or milliseconds. */
  retrySchedule?: string | number[];
  /** Budget for one push delivery (connect + answer); default 15000 like Kill Bill. */
  deliveryTimeoutMs?: number;
  /** `org.killbill.invoice.item.result.behavior.mode`; default AGGREGATE like Kill Bill. */
  usageDetailMode?: 'AGGREGATE' | 'DETAIL';
  logger?: Logger;
}

export interface KillBillStandin {
  /** e.g. http://127.0.0.1:41234, without a trailing slash; use as the client's basePath. */
  url: string;
  port: number;
  control: StandinControl;
  /** Creates a tenant directly (no HTTP, no event) and returns its id. */
  createTenant(apiKey: string, apiSecret: string, externalKey?: string): string;
  close(): Promise<void>;
}

export async function startKillBillStandin(opts: KillBillStandinOptions = {}): Promise<KillBillStandin> {
  const logger = opts.logger ?? silentLogger;
  const state = new KillBillState();
  const push = new PushNotificationQueue(
    parseRetrySchedule(opts.retrySchedule ?? DEFAULT_RETRY_SCHEDULE),
    opts.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS,
    logger,
  );
  const timers = new Set<NodeJS.Timeout>();
  const ctx: StandinContext = {
    state,
    push,
    logger,
    usageDetailMode: opts.usageDetailMode ?? 'AGGREGATE',
    now: () => new Date(),
    at(when, effect) {
      // setTimeout cannot wait longer than ~24.8 days; later effects re-arm themselves.
      const delay = Math.min(when.getTime() - Date.now(), 2 ** 31 - 1);
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          if (when.getTime() <= Date.now()) effect();
          else ctx.at(when, effect);
        },
        Math.max(0, delay),
      );
      timer.unref();
      timers.add(timer);
    },
  };
  const control = new StandinControl(ctx);
  const originalReset = control.reset.bind(control);
  control.reset = () => {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    originalReset();
  };
  const app = createApp(ctx, control, {
    username: opts.username ?? 'admin',
    password: opts.password ?? 'password',
  });
  const server: Server = createServer(app);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  logger.info({ port, host }, 'Kill Bill stand-in listening');
  return {
    url: `http://${urlHost}:${port}`,
    port,
    control,
    createTenant: (apiKey, apiSecret, externalKey) =>
      createTenant(ctx, apiKey, apiSecret, externalKey ?? null).tenantId,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await push.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

export type { TenantRecord };
