import express, { type Express, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { createIntakeHandler, intakeErrorHandler } from './intake-handler.js';
import type { NotificationIntake } from './notification-intake.js';
import { readinessHandler, type ReadinessCheck } from './readiness.js';

export type { ReadinessCheck };

export interface ApiAppOptions {
  intake: NotificationIntake;
  /** All must pass for /readyz to answer 200; each is named in its body, `ok` or what is wrong. */
  readiness: ReadinessCheck[];
  metrics: Registry;
  /** The queue dashboard, when configured; without it its path answers 404 like any unknown one. */
  dashboard?: { path: string; handler: RequestHandler };
}

/** The HTTP service: Kill Bill's callback, health, readiness and Prometheus metrics. */
export function createApiApp({ intake, readiness, metrics, dashboard }: ApiAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // An ETag is a hash of every answer's body, and nobody here ever revalidates one: Kill Bill only POSTs.
  app.set('etag', false);
  // First: Kill Bill's notifications are nearly every request, so they are matched before anything else.
  app.use(createIntakeHandler(intake));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  app.get('/readyz', readinessHandler(readiness));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });
  if (dashboard) app.use(dashboard.path, dashboard.handler);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(intakeErrorHandler);
  return app;
}
