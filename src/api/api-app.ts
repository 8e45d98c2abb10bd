import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { createIntakeRouter, intakeErrorHandler } from '../intake/intake-router.js';
import type { NotificationIntake } from '../intake/notification-intake.js';

export interface ReadinessCheck {
  /** How /readyz names the dependency: `redis`, `killbill callback`. */
  name: string;
  /** What is wrong, said for a person; undefined when all is well. */
  check: () => Promise<string | undefined>;
}

export interface ApiAppOptions {
  intake: NotificationIntake;
  /** All must pass for /readyz to answer 200; each is named in its body, `ok` or what is wrong. */
  readiness: ReadinessCheck[];
  metrics: Registry;
}

/** The HTTP service: Kill Bill's callback, health, readiness and Prometheus metrics. */
export function createApiApp({ intake, readiness, metrics }: ApiAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  // A 503 must say which dependency holds it back and why, or the operator is left guessing.
  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      readiness.map(async (r) => {
        const problem = await r.check().catch((err: unknown) => (err as Error).message || 'check failed');
        return [r.name, problem ?? 'ok'] as const;
      }),
    );
    const down = results.filter(([, said]) => said !== 'ok').map(([name]) => name);
    res
      .status(down.length ? 503 : 200)
      .json({ ready: down.length === 0, down, checks: Object.fromEntries(results) });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });
  app.use(createIntakeRouter(intake));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(intakeErrorHandler);
  return app;
}
