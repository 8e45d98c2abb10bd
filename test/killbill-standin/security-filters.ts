import type { NextFunction, Request, Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { BillingException, illegalArgument } from './billing-exception.js';
import { sendEmpty } from './jaxrs-responses.js';
import type { KillBillState, TenantRecord } from './state.js';

/**
 * Shiro basic auth, Kill Bill's TenantFilter (api key + secret) and the CreatedBy rule of
 * `Context.createCallContext`, in the order a request meets them.
 */

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function basicAuthFilter(username: string, password: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.path.startsWith('/1.0/kb/')) {
      next();
      return;
    }
    const header = req.get('authorization') ?? '';
    const m = /^Basic\s+(.+)$/i.exec(header);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0 || !same(decoded.slice(0, colon), username) || !same(decoded.slice(colon + 1), password)) {
      res.setHeader('WWW-Authenticate', 'BASIC realm="application"');
      sendEmpty(res, 401);
      return;
    }
    next();
  };
}

/** Paths Kill Bill's TenantFilter lets through without api key headers (tenant administration). */
function needsNoTenant(path: string, method: string): boolean {
  if (path === '/1.0/kb/tenants') return true;
  return method === 'GET' && /^\/1\.0\/kb\/tenants\/[0-9a-f-]{36}$/i.test(path);
}

export function tenantFilter(state: KillBillState) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.path.startsWith('/1.0/kb/') || needsNoTenant(req.path, req.method)) {
      next();
      return;
    }
    const apiKey = req.get('x-killbill-apikey');
    const apiSecret = req.get('x-killbill-apisecret');
    const tenant = apiKey ? state.tenantByApiKey(apiKey) : undefined;
    if (!apiKey || !apiSecret || !tenant || !same(tenant.apiSecret, apiSecret)) {
      sendEmpty(res, 401);
      return;
    }
    res.locals.tenant = tenant;
    next();
  };
}

export function tenantOf(res: Response): TenantRecord {
  const tenant = res.locals.tenant as TenantRecord | undefined;
  if (!tenant) throw new BillingException(401, null, null, 'no tenant', true);
  return tenant;
}

export interface CallContext {
  createdBy: string;
  reason: string | null;
  comment: string | null;
}

/** Writes need X-Killbill-CreatedBy; resources check it after their own body checks, as Kill Bill does. */
export function callContext(req: Request): CallContext {
  const createdBy = req.get('x-killbill-createdby');
  if (!createdBy) throw illegalArgument('Header X-Killbill-CreatedBy needs to be set');
  return {
    createdBy,
    reason: req.get('x-killbill-reason') ?? null,
    comment: req.get('x-killbill-comment') ?? null,
  };
}
