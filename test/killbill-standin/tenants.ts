import { Router } from 'express';
import { randomUUID } from 'node:crypto';
import { bareStatus, illegalArgument, tenantApiException } from './billing-exception.js';
import { sendCreated, sendJson, sendNoContent } from './jaxrs-responses.js';
import { callContext, tenantOf } from './security-filters.js';
import { notify, type StandinContext } from './standin-context.js';
import type { TenantRecord } from './state.js';

/** TenantResource: tenant creation and lookup, and the PUSH_NOTIFICATION_CB tenant key. */

function tenantJson(t: TenantRecord): Record<string, unknown> {
  // The secret is stored hashed by Kill Bill and never returned.
  return {
    tenantId: t.tenantId,
    externalKey: t.externalKey,
    apiKey: t.apiKey,
    apiSecret: null,
    auditLogs: [],
  };
}

export function createTenant(
  ctx: StandinContext,
  apiKey: string,
  apiSecret: string,
  externalKey: string | null = null,
): TenantRecord {
  if (ctx.state.tenantByApiKey(apiKey)) {
    throw tenantApiException(409, 20000, `Tenant already exists for key ${apiKey}`);
  }
  const tenant: TenantRecord = {
    tenantId: randomUUID(),
    externalKey,
    apiKey,
    apiSecret,
    callbackUrl: null,
    catalogVersions: [],
  };
  ctx.state.tenants.set(tenant.tenantId, tenant);
  return tenant;
}

/** Only application/json (or no Content-Type at all) passes Jersey's @Consumes(APPLICATION_JSON). */
function consumesJson(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type === '*/*' || type === 'application/*';
}

export function tenantRoutes(ctx: StandinContext): Router {
  const router = Router();

  router.post('/1.0/kb/tenants', (req, res) => {
    const body = req.body as { apiKey?: string; apiSecret?: string; externalKey?: string } | undefined;
    if (!body || !body.apiKey || !body.apiSecret)
      throw illegalArgument('TenantJson apiKey and apiSecret need to be set');
    callContext(req);
    const tenant = createTenant(ctx, body.apiKey, body.apiSecret, body.externalKey ?? null);
    sendCreated(req, res, `/1.0/kb/tenants/${tenant.tenantId}`);
  });

  router.get('/1.0/kb/tenants', (req, res) => {
    const apiKey = typeof req.query.apiKey === 'string' ? req.query.apiKey : '';
    const tenant = ctx.state.tenantByApiKey(apiKey);
    if (!tenant) throw tenantApiException(404, 20003, `Tenant does not exist for api key ${apiKey}`);
    sendJson(res, 200, tenantJson(tenant));
  });

  router.get('/1.0/kb/tenants/registerNotificationCallback', (_req, res) => {
    const tenant = tenantOf(res);
    sendJson(res, 200, {
      key: 'PUSH_NOTIFICATION_CB',
      values: tenant.callbackUrl ? [tenant.callbackUrl] : [],
      auditLogs: [],
    });
  });

  router.post('/1.0/kb/tenants/registerNotificationCallback', (req, res) => {
    if (!consumesJson(req.get('content-type'))) throw bareStatus(415);
    const tenant = tenantOf(res);
    callContext(req);
    const cb = typeof req.query.cb === 'string' ? req.query.cb : '';
    if (!cb) throw illegalArgument('Notification callback needs to be set');
    tenant.callbackUrl = cb;
    // The tenant-KV change event goes out after the new value is stored, so it reaches the new callback.
    notify(ctx, tenant, 'TENANT_CONFIG_CHANGE', 'TENANT_KVS', randomUUID(), null, {
      key: 'PUSH_NOTIFICATION_CB',
    });
    sendCreated(req, res, '/1.0/kb/tenants/registerNotificationCallback');
  });

  router.delete('/1.0/kb/tenants/registerNotificationCallback', (req, res) => {
    const tenant = tenantOf(res);
    callContext(req);
    // TENANT_CONFIG_DELETION is emitted too, but no callback is left to receive it.
    tenant.callbackUrl = null;
    sendNoContent(res);
  });

  router.get('/1.0/kb/tenants/:tenantId', (req, res) => {
    const tenant = ctx.state.tenants.get(req.params.tenantId);
    if (!tenant) throw tenantApiException(404, 20001, `Tenant does not exist for id ${req.params.tenantId}`);
    sendJson(res, 200, tenantJson(tenant));
  });

  return router;
}
