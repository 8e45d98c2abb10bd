import { Router, type Request } from 'express';
import { randomUUID } from 'node:crypto';
import {
  catalogApiException,
  illegalArgument,
  objectDoesNotExist,
  subscriptionApiException,
} from './billing-exception.js';
import { requireAccount } from './accounts.js';
import {
  catalogOf,
  chargedThroughDate,
  findPlan,
  planOf,
  requireSubscription,
  toAccountDateTime,
} from './entitlements.js';
import { dayOfMonth, localDateIn, parseDateTime, parseLocalDate } from './joda-time.js';
import { sendCreated, sendJson, sendNoContent, sendPage } from './jaxrs-responses.js';
import { callContext, tenantOf } from './security-filters.js';
import { notify, type StandinContext } from './standin-context.js';
import type { AccountRecord, BundleRecord, SubscriptionRecord, TenantRecord } from './state.js';
import { bundleJson, subscriptionJson } from './subscription-json.js';

/**
 * SubscriptionResource and the bundle reads: create on a catalog plan (with past or future
 * entitlement/billing dates), read, list an account's bundles, and cancel.
 */

/** A LocalDate query parameter is taken at the account's reference time; a full DateTime as is. */
function actionDate(req: Request, name: string, account: AccountRecord): Date | null {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return null;
  const text = String(raw);
  if (parseLocalDate(text)) return toAccountDateTime(account, text);
  const at = parseDateTime(text);
  if (!at) throw illegalArgument(`Invalid format: "${text}" for ${name}`);
  return at;
}

type SubscriptionAction = 'CREATION' | 'CANCEL';

function subscriptionEvent(
  ctx: StandinContext,
  tenant: TenantRecord,
  sub: SubscriptionRecord,
  action: SubscriptionAction,
  actionType: 'REQUESTED' | 'EFFECTIVE',
): void {
  const bundle = ctx.state.bundles.get(sub.bundleId) as BundleRecord;
  notify(ctx, tenant, `SUBSCRIPTION_${action}`, 'SUBSCRIPTION', sub.subscriptionId, sub.accountId, {
    actionType,
    bundleExternalKey: bundle.externalKey,
  });
}

/** Posts now what has already happened, and schedules what takes effect later. */
function when(ctx: StandinContext, at: Date, effect: () => void): void {
  if (at.getTime() <= ctx.now().getTime()) effect();
  else ctx.at(at, effect);
}

export function subscriptionRoutes(ctx: StandinContext): Router {
  const router = Router();

  router.post('/1.0/kb/subscriptions', (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') throw illegalArgument('SubscriptionJson body should be specified');
    if (typeof body.accountId !== 'string')
      throw illegalArgument('SubscriptionJson accountId needs to be set');
    const tenant = tenantOf(res);
    callContext(req);
    const account = requireAccount(ctx, tenant, body.accountId);
    const now = ctx.now();
    const entitlementDate = actionDate(req, 'entitlementDate', account);
    const billingDate = actionDate(req, 'billingDate', account);
    const startDate = entitlementDate ?? billingDate ?? now;
    const billingStartDate = billingDate ?? entitlementDate ?? now;
    const catalog = catalogOf(tenant, billingStartDate);
    const priceList =
      typeof body.priceList === 'string' ? body.priceList : (catalog.priceLists[0]?.name ?? 'DEFAULT');
    let planName = typeof body.planName === 'string' ? body.planName : null;
    if (!planName) {
      const list = catalog.priceLists.find((l) => l.name === priceList);
      const candidate = list?.plans
        .map((name) => findPlan(catalog, name).plan)
        .find((p) => p.product === body.productName && p.billingPeriod === body.billingPeriod);
      if (!candidate) {
        throw catalogApiException(
          2020,
          `Could not find a plan matching: (product: '${String(body.productName)}', billing period: '${String(body.billingPeriod)}', pricelist '${priceList}')`,
        );
      }
      planName = candidate.name;
    }
    const { plan } = findPlan(catalog, planName);
    let bundle: BundleRecord;
    if (typeof body.bundleId === 'string') {
      const existing = ctx.state.bundles.get(body.bundleId);
      if (!existing || existing.accountId !== account.accountId) {
        throw subscriptionApiException(1012, `Bundle ${body.bundleId} does not exist`);
      }
      bundle = existing;
    } else {
      const bundleId = randomUUID();
      const externalKey = typeof body.bundleExternalKey === 'string' ? body.bundleExternalKey : bundleId;
      bundle = { tenantId: tenant.tenantId, bundleId, accountId: account.accountId, externalKey };
      ctx.state.bundles.set(bundleId, bundle);
    }
    // ACCOUNT billing alignment: the first subscription fixes the account's bill-cycle day.
    if (account.billCycleDayLocal === 0) {
      account.billCycleDayLocal = dayOfMonth(localDateIn(billingStartDate, account.timeZone));
    }
    const subscriptionId = randomUUID();
    const sub: SubscriptionRecord = {
      tenantId: tenant.tenantId,
      subscriptionId,
      bundleId: bundle.bundleId,
      accountId: account.accountId,
      externalKey: typeof body.externalKey === 'string' ? body.externalKey : subscriptionId,
      planName: plan.name,
      priceList,
      startDate,
      billingStartDate,
      cancelledDate: null,
      billingEndDate: null,
      billCycleDayLocal: account.billCycleDayLocal,
      quantity: typeof body.quantity === 'number' ? body.quantity : 1,
      catalogEffectiveDate: catalog.effectiveDate,
      eventIds: { start: randomUUID(), billing: randomUUID() },
    };
    ctx.state.subscriptions.set(subscriptionId, sub);
    subscriptionEvent(ctx, tenant, sub, 'CREATION', 'REQUESTED');
    when(ctx, startDate, () =>
      notify(ctx, tenant, 'ENTITLEMENT_CREATION', 'SUBSCRIPTION', subscriptionId, account.accountId),
    );
    when(ctx, billingStartDate, () => subscriptionEvent(ctx, tenant, sub, 'CREATION', 'EFFECTIVE'));
    sendCreated(req, res, `/1.0/kb/subscriptions/${subscriptionId}`);
  });

  router.get('/1.0/kb/subscriptions', (req, res) => {
    const tenant = tenantOf(res);
    const key = typeof req.query.externalKey === 'string' ? req.query.externalKey : '';
    const sub = [...ctx.state.subscriptions.values()].find(
      (s) => s.tenantId === tenant.tenantId && s.externalKey === key,
    );
    if (!sub) throw objectDoesNotExist(key, 'SUBSCRIPTION');
    sendJson(res, 200, subscriptionJson(ctx, tenant, sub));
  });

  router.get('/1.0/kb/subscriptions/:subscriptionId', (req, res) => {
    const tenant = tenantOf(res);
    sendJson(
      res,
      200,
      subscriptionJson(ctx, tenant, requireSubscription(ctx, tenant, req.params.subscriptionId)),
    );
  });

  router.delete('/1.0/kb/subscriptions/:subscriptionId', (req, res) => {
    const tenant = tenantOf(res);
    callContext(req);
    const sub = requireSubscription(ctx, tenant, req.params.subscriptionId);
    const account = ctx.state.accounts.get(sub.accountId) as AccountRecord;
    const now = ctx.now();
    if (sub.cancelledDate) {
      throw subscriptionApiException(
        1031,
        `Subscription ${sub.subscriptionId} is in state CANCELLED: Failed to cancel`,
      );
    }
    const { plan, catalog } = planOf(tenant, sub);
    const ctd = chargedThroughDate(sub, account, plan, catalog, now);
    const endOfTerm = ctd ? toAccountDateTime(account, ctd) : null;
    const requested = actionDate(req, 'requestedDate', account);
    const entitlementPolicy = req.query.entitlementPolicy;
    const billingPolicy = req.query.billingPolicy ?? (requested ? undefined : catalog.defaultCancelPolicy);
    const cancelledDate =
      requested ?? (entitlementPolicy === 'END_OF_TERM' && endOfTerm && endOfTerm > now ? endOfTerm : now);
    let billingEndDate = cancelledDate;
    if (requested && req.query.useRequestedDateForBilling !== 'true' && billingPolicy === undefined) {
      billingEndDate =
        catalog.defaultCancelPolicy === 'END_OF_TERM' && endOfTerm && endOfTerm > requested
          ? endOfTerm
          : requested;
    } else if (billingPolicy === 'END_OF_TERM' && endOfTerm && endOfTerm > cancelledDate) {
      billingEndDate = endOfTerm;
    }
    sub.cancelledDate = cancelledDate;
    sub.billingEndDate = billingEndDate;
    sub.eventIds.stop = randomUUID();
    sub.eventIds.stopBilling = randomUUID();
    subscriptionEvent(ctx, tenant, sub, 'CANCEL', 'REQUESTED');
    when(ctx, cancelledDate, () =>
      notify(ctx, tenant, 'ENTITLEMENT_CANCEL', 'SUBSCRIPTION', sub.subscriptionId, sub.accountId),
    );
    when(ctx, billingEndDate, () => subscriptionEvent(ctx, tenant, sub, 'CANCEL', 'EFFECTIVE'));
    sendNoContent(res);
  });

  router.get('/1.0/kb/accounts/:accountId/bundles', (req, res) => {
    const tenant = tenantOf(res);
    const account = requireAccount(ctx, tenant, req.params.accountId);
    const externalKey = typeof req.query.externalKey === 'string' ? req.query.externalKey : undefined;
    const bundles = ctx.state
      .bundlesOf(account.accountId)
      .filter((b) => externalKey === undefined || b.externalKey === externalKey);
    sendJson(
      res,
      200,
      bundles.map((b) => bundleJson(ctx, tenant, b)),
    );
  });

  // Before /bundles/:bundleId, which would take "pagination" for an id.
  router.get('/1.0/kb/bundles/pagination', (req, res) => {
    const tenant = tenantOf(res);
    const bundles = [...ctx.state.bundles.values()].filter((b) => b.tenantId === tenant.tenantId);
    sendPage(req, res, bundles, '/1.0/kb/bundles/pagination', (b) => bundleJson(ctx, tenant, b));
  });

  router.get('/1.0/kb/bundles/:bundleId', (req, res) => {
    const tenant = tenantOf(res);
    const bundle = ctx.state.bundles.get(req.params.bundleId);
    if (!bundle || bundle.tenantId !== tenant.tenantId)
      throw objectDoesNotExist(req.params.bundleId, 'BUNDLE');
    sendJson(res, 200, bundleJson(ctx, tenant, bundle));
  });

  return router;
}
