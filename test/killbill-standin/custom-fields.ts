import { Router, type Request, type Response } from 'express';
import { randomUUID } from 'node:crypto';
import { customFieldApiException, illegalArgument, objectDoesNotExist } from './billing-exception.js';
import { requireAccount } from './accounts.js';
import { requireSubscription } from './entitlements.js';
import { sendCreated, sendJson, sendNoContent, sendPage } from './jaxrs-responses.js';
import { callContext, tenantOf } from './security-filters.js';
import { notify, type StandinContext } from './standin-context.js';
import type { CustomFieldRecord, TenantRecord } from './state.js';

/**
 * Custom fields as JaxRsResourceBase serves them for accounts and subscriptions. Creation and deletion
 * post CUSTOM_FIELD_* events carrying the field's own id; an update posts nothing
 * (DefaultCustomFieldDao only handles INSERT and DELETE).
 */

type FieldOwner = { objectId: string; objectType: CustomFieldRecord['objectType']; accountId: string };

function customFieldJson(f: CustomFieldRecord): Record<string, unknown> {
  return {
    customFieldId: f.customFieldId,
    objectId: f.objectId,
    objectType: f.objectType,
    name: f.name,
    value: f.value,
    auditLogs: [],
  };
}

function fieldsOf(ctx: StandinContext, objectId: string): CustomFieldRecord[] {
  return [...ctx.state.customFields.values()].filter((f) => f.objectId === objectId);
}

function bodyArray(req: Request): Record<string, unknown>[] {
  const body = req.body as unknown;
  if (!Array.isArray(body)) throw illegalArgument('CustomFieldJson body should be specified');
  return body.map((x) => (x && typeof x === 'object' ? (x as Record<string, unknown>) : {}));
}

function idList(req: Request): string[] {
  const raw = req.query.customField;
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).map(String);
}

function routesFor(
  ctx: StandinContext,
  router: Router,
  base: string,
  owner: (tenant: TenantRecord, id: string) => FieldOwner,
): void {
  const path = `${base}/:objectId/customFields`;
  const resolve = (req: Request, res: Response): { tenant: TenantRecord; o: FieldOwner } => {
    const tenant = tenantOf(res);
    return { tenant, o: owner(tenant, String(req.params.objectId)) };
  };

  router.get(path, (req, res) => {
    const { o } = resolve(req, res);
    sendJson(res, 200, fieldsOf(ctx, o.objectId).map(customFieldJson));
  });

  router.post(path, (req, res) => {
    const { tenant, o } = resolve(req, res);
    callContext(req);
    const existing = fieldsOf(ctx, o.objectId);
    const created: CustomFieldRecord[] = [];
    for (const json of bodyArray(req)) {
      const { name, value } = json;
      if (typeof name !== 'string' || !name) throw illegalArgument('CustomFieldJson name needs to be set');
      if (typeof value !== 'string' || !value) throw illegalArgument('CustomFieldJson value needs to be set');
      // Only an exact (object, name, value) duplicate is refused; the same name with another value is fine.
      if ([...existing, ...created].some((f) => f.name === name && f.value === value)) {
        throw customFieldApiException(9000, `The custom field ${name} already exists`);
      }
      created.push({ tenantId: tenant.tenantId, customFieldId: randomUUID(), name, value, ...o });
    }
    for (const f of created) {
      ctx.state.customFields.set(f.customFieldId, f);
      notify(ctx, tenant, 'CUSTOM_FIELD_CREATION', 'CUSTOM_FIELD', f.customFieldId, o.accountId);
    }
    sendCreated(req, res, `${base}/${o.objectId}/customFields`);
  });

  router.put(path, (req, res) => {
    const { o } = resolve(req, res);
    callContext(req);
    const updates = bodyArray(req).map((json) => {
      const { customFieldId, value } = json;
      if (typeof customFieldId !== 'string') throw illegalArgument('CustomFieldJson id needs to be set');
      if (typeof value !== 'string') throw illegalArgument('CustomFieldJson value needs to be set');
      const field = ctx.state.customFields.get(customFieldId);
      if (!field || field.objectId !== o.objectId) throw objectDoesNotExist(customFieldId, 'CUSTOM_FIELD');
      return { field, value };
    });
    for (const { field, value } of updates) field.value = value;
    sendNoContent(res);
  });

  router.delete(path, (req, res) => {
    const { tenant, o } = resolve(req, res);
    callContext(req);
    const ids = idList(req);
    const doomed = ids.length
      ? ids.map((id) => {
          const field = ctx.state.customFields.get(id);
          if (!field || field.objectId !== o.objectId) throw objectDoesNotExist(id, 'CUSTOM_FIELD');
          return field;
        })
      : fieldsOf(ctx, o.objectId);
    for (const f of doomed) {
      ctx.state.customFields.delete(f.customFieldId);
      notify(ctx, tenant, 'CUSTOM_FIELD_DELETION', 'CUSTOM_FIELD', f.customFieldId, o.accountId);
    }
    sendNoContent(res);
  });
}

const OBJECT_TYPES = [
  'ACCOUNT',
  'ACCOUNT_EMAIL',
  'BLOCKING_STATES',
  'BUNDLE',
  'CUSTOM_FIELD',
  'INVOICE',
  'PAYMENT',
  'TRANSACTION',
  'INVOICE_ITEM',
  'INVOICE_PAYMENT',
  'SUBSCRIPTION',
  'SUBSCRIPTION_EVENT',
  'SERVICE_BROADCAST',
  'PAYMENT_ATTEMPT',
  'PAYMENT_METHOD',
  'TAG',
  'TAG_DEFINITION',
  'TENANT',
  'TENANT_KVS',
];

export function customFieldRoutes(ctx: StandinContext): Router {
  const router = Router();
  routesFor(ctx, router, '/1.0/kb/accounts', (tenant, id) => {
    const account = requireAccount(ctx, tenant, id);
    return { objectId: account.accountId, objectType: 'ACCOUNT', accountId: account.accountId };
  });
  routesFor(ctx, router, '/1.0/kb/subscriptions', (tenant, id) => {
    const sub = requireSubscription(ctx, tenant, id);
    return { objectId: sub.subscriptionId, objectType: 'SUBSCRIPTION', accountId: sub.accountId };
  });

  router.get('/1.0/kb/customFields/pagination', (req, res) => {
    const tenantId = tenantOf(res).tenantId;
    const fields = [...ctx.state.customFields.values()].filter((f) => f.tenantId === tenantId);
    sendPage(req, res, fields, '/1.0/kb/customFields/pagination', customFieldJson);
  });

  router.get('/1.0/kb/accounts/:accountId/allCustomFields', (req, res) => {
    const account = requireAccount(ctx, tenantOf(res), req.params.accountId);
    const objectType = typeof req.query.objectType === 'string' ? req.query.objectType : undefined;
    if (objectType !== undefined && !OBJECT_TYPES.includes(objectType)) {
      throw illegalArgument(`No enum constant ObjectType.${objectType}`);
    }
    const fields = [...ctx.state.customFields.values()].filter(
      (f) => f.accountId === account.accountId && (objectType === undefined || f.objectType === objectType),
    );
    sendJson(res, 200, fields.map(customFieldJson));
  });

  return router;
}
