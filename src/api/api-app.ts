import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { createIntakeRouter, intakeErrorHandler } from '../intake/intake-router.js';
import type { NotificationIntake } from '../intake/notification-intake.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export interface ApiAppOptions {
  intake: NotificationIntake;
  /** All must pass for /readyz to answer 200. */
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
  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      readiness.map(async (r) => [r.name, await r.check().catch(() => false)] as const),
    );
    const ready = results.every(([, ok]) => ok);
    res.status(ready ? 200 : 503).json({ ready, checks: Object.fromEntries(results) });
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
