import { createHash } from 'node:crypto';
import { priceIn, phasesOf, type CatalogPhase, type CatalogPlan } from './catalog-model.js';
import { chargedThroughDate, phaseAt, phaseStarts, planOf, subscriptionState } from './entitlements.js';
import { formatDateTime } from './joda-time.js';
import type { StandinContext } from './standin-context.js';
import type { AccountRecord, BundleRecord, SubscriptionRecord, TenantRecord } from './state.js';

/** SubscriptionJson and BundleJson in Kill Bill 0.24's shape: DateTimes for dates, a LocalDate CTD. */

interface EventJson {
  at: Date;
  json: Record<string, unknown>;
}

function subscriptionEvents(sub: SubscriptionRecord, plan: CatalogPlan, productName: string): EventJson[] {
  const event = (
    eventId: string,
    at: Date,
    eventType: string,
    serviceName: string,
    serviceStateName: string,
    phase: CatalogPhase,
  ): EventJson => ({
    at,
    json: {
      eventId,
      billingPeriod: plan.billingPeriod,
      effectiveDate: formatDateTime(at),
      catalogEffectiveDate: formatDateTime(sub.catalogEffectiveDate),
      plan: plan.name,
      product: productName,
      priceList: sub.priceList,
      eventType,
      isBlockedBilling: eventType === 'STOP_BILLING',
      isBlockedEntitlement: eventType === 'STOP_ENTITLEMENT',
      serviceName,
      serviceStateName,
      phase: phase.name,
      auditLogs: [],
    },
  });
  const first = phaseAt(plan, sub.billingStartDate, sub.billingStartDate);
  const events: EventJson[] = [
    event(
      sub.eventIds.start,
      sub.startDate,
      'START_ENTITLEMENT',
      'entitlement-service',
      'ENT_STARTED',
      first,
    ),
    event(
      sub.eventIds.billing,
      sub.billingStartDate,
      'START_BILLING',
      'billing-service',
      'START_BILLING',
      first,
    ),
  ];
  const end = sub.billingEndDate ?? sub.cancelledDate;
  for (const { phase, start } of phaseStarts(plan, sub.billingStartDate).slice(1)) {
    if (end && start.getTime() >= end.getTime()) break;
    events.push(
      event(phaseEventId(sub, phase), start, 'PHASE', 'entitlement+billing-service', 'PHASE', phase),
    );
  }
  if (sub.cancelledDate && sub.eventIds.stop) {
    const phase = phaseAt(plan, sub.billingStartDate, sub.cancelledDate);
    events.push(
      event(
        sub.eventIds.stop,
        sub.cancelledDate,
        'STOP_ENTITLEMENT',
        'entitlement-service',
        'ENT_CANCELLED',
        phase,
      ),
    );
  }
  if (sub.billingEndDate && sub.eventIds.stopBilling) {
    const phase = phaseAt(plan, sub.billingStartDate, sub.billingEndDate);
    events.push(
      event(
        sub.eventIds.stopBilling,
        sub.billingEndDate,
        'STOP_BILLING',
        'billing-service',
        'STOP_BILLING',
        phase,
      ),
    );
  }
  return events.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/** Phase events are derived, not stored, so their id is derived too, to stay the same across reads. */
function phaseEventId(sub: SubscriptionRecord, phase: CatalogPhase): string {
  const h = createHash('sha1').update(`${sub.subscriptionId}/${phase.name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function phasePrices(plan: CatalogPlan, currency: string | null): Record<string, unknown>[] {
  return phasesOf(plan).map((phase) => ({
    planName: plan.name,
    phaseName: phase.name,
    phaseType: phase.type,
    fixedPrice: priceIn(phase.fixedPrices, currency)?.value ?? null,
    recurringPrice: phase.recurring ? (priceIn(phase.recurring.prices, currency)?.value ?? null) : null,
    usagePrices: phase.usages.map((usage) => ({
      usageName: usage.name,
      usageType: usage.usageType,
      billingMode: usage.billingMode,
      tierBlockPolicy: usage.tierBlockPolicy,
      tierPrices: usage.tiers.map((tier) => ({
        blockPrices: tier.blocks.map((block) => ({
          unitName: block.unit,
          size: block.size,
          price: priceIn(block.prices, currency)?.value ?? null,
          max: block.max,
        })),
      })),
    })),
  }));
}

export function subscriptionJson(
  ctx: StandinContext,
  tenant: TenantRecord,
  sub: SubscriptionRecord,
): Record<string, unknown> {
  const account = ctx.state.accounts.get(sub.accountId) as AccountRecord;
  const bundle = ctx.state.bundles.get(sub.bundleId) as BundleRecord;
  const { plan, product, catalog } = planOf(tenant, sub);
  const now = ctx.now();
  const phase = phaseAt(plan, sub.billingStartDate, now);
  return {
    accountId: sub.accountId,
    bundleId: sub.bundleId,
    bundleExternalKey: bundle.externalKey,
    subscriptionId: sub.subscriptionId,
    externalKey: sub.externalKey,
    startDate: formatDateTime(sub.startDate),
    productName: plan.product,
    productCategory: product?.category ?? null,
    billingPeriod: plan.billingPeriod,
    phaseType: phase.type,
    priceList: sub.priceList,
    planName: plan.name,
    state: subscriptionState(sub, now),
    sourceType: 'NATIVE',
    cancelledDate: sub.cancelledDate ? formatDateTime(sub.cancelledDate) : null,
    chargedThroughDate: chargedThroughDate(sub, account, plan, catalog, now),
    billingStartDate: formatDateTime(sub.billingStartDate),
    billingEndDate: sub.billingEndDate ? formatDateTime(sub.billingEndDate) : null,
    billCycleDayLocal: sub.billCycleDayLocal,
    quantity: sub.quantity,
    events: subscriptionEvents(sub, plan, plan.product).map((e) => e.json),
    priceOverrides: null,
    prices: phasePrices(plan, account.currency),
    auditLogs: [],
  };
}

export function bundleJson(
  ctx: StandinContext,
  tenant: TenantRecord,
  bundle: BundleRecord,
): Record<string, unknown> {
  const subs = ctx.state.subscriptionsOfBundle(bundle.bundleId);
  const events = subs
    .flatMap((sub) => {
      const { plan } = planOf(tenant, sub);
      return subscriptionEvents(sub, plan, plan.product);
    })
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .map((e) => e.json);
  return {
    accountId: bundle.accountId,
    bundleId: bundle.bundleId,
    externalKey: bundle.externalKey,
    subscriptions: subs.map((s) => subscriptionJson(ctx, tenant, s)),
    timeline: {
      accountId: bundle.accountId,
      bundleId: bundle.bundleId,
      externalKey: bundle.externalKey,
      events,
      auditLogs: [],
    },
    auditLogs: [],
  };
}
