import { catalogApiException, objectDoesNotExist } from './billing-exception.js';
import {
  catalogAt,
  phasesOf,
  type Catalog,
  type CatalogPhase,
  type CatalogPlan,
  type CatalogProduct,
} from './catalog-model.js';
import { monthsIn, intervalContaining } from './billing-periods.js';
import { localDateIn, localInstant, type LocalDate } from './joda-time.js';
import type { StandinContext } from './standin-context.js';
import type { AccountRecord, SubscriptionRecord, TenantRecord } from './state.js';

/** Subscriptions seen through the catalog: their plan, current phase, state and charged-through date. */

export function requireSubscription(
  ctx: StandinContext,
  tenant: TenantRecord,
  id: string,
): SubscriptionRecord {
  const sub = ctx.state.subscriptions.get(id);
  if (!sub || sub.tenantId !== tenant.tenantId) throw objectDoesNotExist(id, 'SUBSCRIPTION');
  return sub;
}

export function catalogOf(tenant: TenantRecord, at: Date): Catalog {
  const catalog = catalogAt(
    tenant.catalogVersions.map((v) => v.catalog),
    at,
  );
  if (!catalog) {
    throw catalogApiException(
      2050,
      `There is no catalog version that applies for the given date '${at.toISOString()}'`,
    );
  }
  return catalog;
}

export interface PlanInCatalog {
  catalog: Catalog;
  plan: CatalogPlan;
  product: CatalogProduct | undefined;
}

export function findPlan(catalog: Catalog, planName: string): PlanInCatalog {
  const plan = catalog.plans.find((p) => p.name === planName);
  if (!plan) throw catalogApiException(2021, `Could not find any plans named '${planName}'`);
  return { catalog, plan, product: catalog.products.find((p) => p.name === plan.product) };
}

export function planOf(tenant: TenantRecord, sub: SubscriptionRecord): PlanInCatalog {
  return findPlan(catalogOf(tenant, sub.catalogEffectiveDate), sub.planName);
}

/** Adds a catalog phase duration the way Joda adds periods to a DateTime (months clamp to short months). */
export function addDuration(at: Date, duration: CatalogPhase['duration']): Date | null {
  const d = new Date(at.getTime());
  switch (duration.unit) {
    case 'DAYS':
      d.setUTCDate(d.getUTCDate() + duration.number);
      return d;
    case 'WEEKS':
      d.setUTCDate(d.getUTCDate() + 7 * duration.number);
      return d;
    case 'MONTHS':
    case 'YEARS': {
      const months = duration.unit === 'YEARS' ? 12 * duration.number : duration.number;
      const day = d.getUTCDate();
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + months);
      const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
      d.setUTCDate(Math.min(day, last));
      return d;
    }
    default:
      return null;
  }
}

/** When each phase of the plan starts, counted from the billing start. */
export function phaseStarts(plan: CatalogPlan, billingStart: Date): { phase: CatalogPhase; start: Date }[] {
  const result: { phase: CatalogPhase; start: Date }[] = [];
  let start: Date | null = billingStart;
  for (const phase of phasesOf(plan)) {
    if (!start) break;
    result.push({ phase, start });
    start = phase === plan.finalPhase ? null : addDuration(start, phase.duration);
  }
  return result;
}

export function phaseAt(plan: CatalogPlan, billingStart: Date, at: Date): CatalogPhase {
  let current = plan.initialPhases[0] ?? plan.finalPhase;
  for (const { phase, start } of phaseStarts(plan, billingStart))
    if (start.getTime() <= at.getTime()) current = phase;
  return current;
}

export type EntitlementState = 'PENDING' | 'ACTIVE' | 'CANCELLED';

export function subscriptionState(sub: SubscriptionRecord, now: Date): EntitlementState {
  if (sub.cancelledDate && sub.cancelledDate.getTime() <= now.getTime()) return 'CANCELLED';
  if (sub.startDate.getTime() > now.getTime()) return 'PENDING';
  return 'ACTIVE';
}

/**
 * The date up to which the subscription counts as invoiced, assuming Kill Bill invoiced it on every
 * bill-cycle day so far: the end of the current period for a recurring price billed in advance, the
 * start of the current period otherwise (in-arrear items bill what has ended). Null before the first invoice.
 */
export function chargedThroughDate(
  sub: SubscriptionRecord,
  account: AccountRecord,
  plan: CatalogPlan,
  catalog: Catalog,
  now: Date,
): LocalDate | null {
  const zone = account.timeZone;
  const billingStart = localDateIn(sub.billingStartDate, zone);
  const horizon =
    sub.billingEndDate && sub.billingEndDate.getTime() < now.getTime() ? sub.billingEndDate : now;
  if (sub.billingStartDate.getTime() > horizon.getTime()) return null;
  const phase = phaseAt(plan, sub.billingStartDate, horizon);
  const period = phase.recurring?.billingPeriod ?? phase.usages[0]?.billingPeriod;
  const months = period ? monthsIn(period) : null;
  if (!months || !sub.billCycleDayLocal) return null;
  const interval = intervalContaining(
    localDateIn(horizon, zone),
    billingStart,
    sub.billCycleDayLocal,
    months,
  );
  const inAdvance = phase.recurring !== null && catalog.recurringBillingMode === 'IN_ADVANCE';
  if (inAdvance) return interval.end;
  return interval.start > billingStart ? interval.start : null;
}

/** A LocalDate given for an action becomes the account's reference time of day on that date (Kill Bill's TimeAwareContext). */
export function toAccountDateTime(account: AccountRecord, date: LocalDate): Date {
  const reference = account.referenceTime;
  const referenceDay = localDateIn(reference, account.timeZone);
  const msOfDay = reference.getTime() - localInstant(referenceDay, 0, account.timeZone).getTime();
  return localInstant(date, msOfDay, account.timeZone);
}
