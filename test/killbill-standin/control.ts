import { Router, type NextFunction, type Request, type Response } from 'express';
import { sendJson } from './jaxrs-responses.js';
import type { PushNotification } from './push-notifications.js';
import type { StandinContext } from './standin-context.js';

/**
 * The test-only control surface, kept off Kill Bill's paths: stopping delivery,
 * API latency and 500 faults, the notification log, and a state reset. Reachable in-process
 * (`standin.control`) and over HTTP under /__standin.
 */

interface ApiFault {
  path: string;
  method: string | null;
  remaining: number;
}

export class StandinControl {
  private latencyMs = 0;
  private faults: ApiFault[] = [];

  constructor(private readonly ctx: StandinContext) {}

  /** Holds every push attempt (first ones and retries) from now on: a bridge that hears nothing. */
  stopDelivery(): void {
    this.ctx.push.stop();
  }

  /** Delay before every Kill Bill API answer (not the control surface). */
  setApiLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  /**
   * The next `count` API calls to `path` answer 500. `path` is matched against the request path
   * without query; a trailing `*` matches a prefix. `method` limits it to one HTTP method.
   */
  failNextApiCalls(path: string, count: number, method?: string): void {
    this.faults.push({ path, method: method ? method.toUpperCase() : null, remaining: count });
  }

  notifications(): PushNotification[] {
    return this.ctx.push.list();
  }

  /** Forgets all tenants, objects, usage, notifications and injected faults. */
  reset(): void {
    this.ctx.state.reset();
    this.ctx.push.reset();
    this.latencyMs = 0;
    this.faults = [];
  }

  /** Latency and injected faults, in front of the Kill Bill routes. */
  readonly apiFaults = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!req.path.startsWith('/1.0/')) {
      next();
      return;
    }
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === null || f.method === req.method) &&
        (f.path.endsWith('*') ? req.path.startsWith(f.path.slice(0, -1)) : req.path === f.path),
    );
    if (fault) {
      fault.remaining--;
      sendJson(res, 500, {
        className: 'java.lang.RuntimeException',
        code: null,
        message: `Fault injected by the Kill Bill stand-in for ${req.method} ${req.path}`,
        causeClassName: null,
        causeMessage: null,
        stackTrace: [],
      });
      return;
    }
    next();
  };

  routes(): Router {
    const router = Router();
    const count = (req: Request): number => Number((req.body as { count?: unknown } | undefined)?.count ?? 1);
    router.get('/__standin/notifications', (_req, res) => {
      res.json(this.notifications());
    });
    router.post('/__standin/delivery/stop', (_req, res) => {
      this.stopDelivery();
      res.status(204).end();
    });
    router.post('/__standin/api/latency', (req, res) => {
      this.setApiLatency(Number((req.body as { ms?: unknown } | undefined)?.ms ?? 0));
      res.status(204).end();
    });
    router.post('/__standin/api/faults', (req, res) => {
      const { path, method } = (req.body ?? {}) as { path?: string; method?: string };
      if (!path) {
        res.status(400).json({ message: 'path is required' });
        return;
      }
      this.failNextApiCalls(path, count(req), method);
      res.status(204).end();
    });
    router.post('/__standin/reset', (_req, res) => {
      this.reset();
      res.status(204).end();
    });
    return router;
  }
}
