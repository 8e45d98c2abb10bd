import express, { type NextFunction, type Request, type Response } from 'express';
import { accountRoutes } from './accounts.js';
import { BillingException } from './billing-exception.js';
import { catalogRoutes } from './catalog.js';
import { customFieldRoutes } from './custom-fields.js';
import { healthcheckRoutes } from './healthcheck.js';
import { invoiceRoutes } from './invoices.js';
import { sendEmpty, sendJson } from './jaxrs-responses.js';
import { basicAuthFilter, tenantFilter } from './security-filters.js';
import type { StandinContext } from './standin-context.js';
import { subscriptionRoutes } from './subscriptions.js';
import { tenantRoutes } from './tenants.js';
import { usageRoutes } from './usages.js';

/** The HTTP application: filters in Kill Bill's order, then the resources, then the exception mappers. */

/** Paths whose body must stay raw text: usage amounts are parsed exactly, catalogs are XML. */
function keepsRawBody(req: Request): boolean {
  return req.path === '/1.0/kb/usages' || req.path.startsWith('/1.0/kb/catalog/xml');
}

function isJson(req: Request): boolean {
  const type = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

function parseJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const text = typeof req.body === 'string' ? req.body : '';
  if (keepsRawBody(req) || !isJson(req)) {
    next();
    return;
  }
  try {
    req.body = text.trim() ? JSON.parse(text) : undefined;
  } catch (err) {
    throw new BillingException(
      400,
      'com.fasterxml.jackson.core.JsonParseException',
      null,
      (err as Error).message,
    );
  }
  next();
}

export function createApp(
  ctx: StandinContext,
  credentials: { username: string; password: string },
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'extended');
  app.use(express.text({ type: () => true, limit: '50mb' }));
  app.use(parseJsonBody);
  app.use(healthcheckRoutes());
  app.use(basicAuthFilter(credentials.username, credentials.password));
  app.use(tenantFilter(ctx.state));
  app.use(tenantRoutes(ctx));
  app.use(accountRoutes(ctx));
  app.use(customFieldRoutes(ctx));
  app.use(catalogRoutes(ctx));
  app.use(subscriptionRoutes(ctx));
  app.use(usageRoutes(ctx));
  app.use(invoiceRoutes(ctx));

  app.use((_req: Request, res: Response) => sendEmpty(res, 404));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof BillingException) {
      if (err.emptyBody) sendEmpty(res, err.status);
      else sendJson(res, err.status, err.toJson());
      return;
    }
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // body-parser refusals (too large, bad encoding) are client errors.
      sendEmpty(res, status);
      return;
    }
    sendJson(res, 500, {
      className: 'java.lang.RuntimeException',
      code: null,
      message: err instanceof Error ? err.message : String(err),
      causeClassName: null,
      causeMessage: null,
      stackTrace: [],
    });
  });
  return app;
}
