import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { DEFAULT_RETRY_SCHEDULE, PushNotificationQueue, parseRetrySchedule } from './push-notifications.js';
import type { StandinContext } from './standin-context.js';
import { KillBillState } from './state.js';

export interface KillBillStandinOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Push retry delays, as Kill Bill TimeSpans (`'15m,30m,2h,12h,1d'`, the default) or milliseconds. */
  retrySchedule?: string | number[];
}

export interface KillBillStandin {
  /** e.g. http://127.0.0.1:41234, without a trailing slash; use as the client's basePath. */
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 with basic auth admin/password, like a fresh Kill Bill. */
export async function startKillBillStandin(opts: KillBillStandinOptions = {}): Promise<KillBillStandin> {
  const state = new KillBillState();
  const push = new PushNotificationQueue(parseRetrySchedule(opts.retrySchedule ?? DEFAULT_RETRY_SCHEDULE));
  const timers = new Set<NodeJS.Timeout>();
  const ctx: StandinContext = {
    state,
    push,
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
  const server: Server = createServer(createApp(ctx, { username: 'admin', password: 'password' }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
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
