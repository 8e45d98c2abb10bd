import { Router } from 'express';
import { randomUUID } from 'node:crypto';
import { BigDecimal } from './big-decimal.js';
import { accountApiException, bareStatus, illegalArgument } from './billing-exception.js';
import { priceIn } from './catalog-model.js';
import {
  fullIntervalEndingAt,
  followingInterval,
  intervalContaining,
  intervalEndingOnOrAfter,
  monthsIn,
  type BillingInterval,
} from './billing-periods.js';
import { phaseAt, planOf } from './entitlements.js';
import { daysBetween, localDateIn, parseLocalDate, startOfDayIn, type LocalDate } from './joda-time.js';
import { sendJson } from './jaxrs-responses.js';
import { callContext, tenantOf } from './security-filters.js';
import type { StandinContext } from './standin-context.js';
import type { AccountRecord, SubscriptionRecord, TenantRecord } from './state.js';
import { priceConsumableUnit, unitsOf, type TierUnitAggregate } from './usage-pricing.js';

/**
 * `POST /1.0/kb/invoices/dryRun`: the invoice Kill Bill would generate, without storing it. The stand-in
 * never generates real invoices, so it treats every bill-cycle day before the invoice date as already
 * invoiced and prices one period per usage section: the one ending on the invoice date.
 */

/** Currencies without minor units; everything else is rounded to cents like KillBillMoney. */
const ZERO_DECIMAL = new Set([
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'ISK',
  'JPY',
  'KMF',
  'KRW',
  'PYG',
  'RWF',
  'UGX',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
]);

type Item = Record<string, unknown> & { amount: BigDecimal };

function itemJson(
  base: { invoiceId: string; account: AccountRecord; sub: SubscriptionRecord },
  fields: Record<string, unknown> & { amount: BigDecimal },
): Item {
  const { invoiceId, account, sub } = base;
  // Key order is InvoiceItemJson's; Object.assign keeps the template's positions.
  const template: Record<string, unknown> = {
    invoiceItemId: randomUUID(),
    invoiceId,
    linkedInvoiceItemId: null,
    accountId: account.accountId,
    childAccountId: null,
    bundleId: sub.bundleId,
    subscriptionId: sub.subscriptionId,
    productName: null,
    planName: null,
    phaseName: null,
    usageName: null,
    prettyProductName: null,
    prettyPlanName: null,
    prettyPhaseName: null,
    prettyUsageName: null,
    itemType: 'USAGE',
    description: null,
    startDate: null,
    endDate: null,
    amount: null,
    rate: null,
    currency: account.currency,
    quantity: null,
    itemDetails: null,
    catalogEffectiveDate: null,
    childItems: null,
    auditLogs: [],
  };
  return Object.assign(template, fields);
}

function detailJson(d: TierUnitAggregate): Record<string, unknown> {
  return {
    tier: d.tier,
    tierUnit: d.tierUnit,
    tierPrice: d.tierPrice,
    tierBlockSize: d.tierBlockSize,
    quantity: d.quantity,
    amount: d.amount,
  };
}

function subscriptionItems(
  ctx: StandinContext,
  tenant: TenantRecord,
  account: AccountRecord,
  sub: SubscriptionRecord,
  invoiceDate: LocalDate,
  invoiceId: string,
): { items: Item[]; trackingIds: Set<string> } {
  const zone = account.timeZone;
  const currency = account.currency ?? '';
  const { plan, product, catalog } = planOf(tenant, sub);
  const billingStart = localDateIn(sub.billingStartDate, zone);
  const billingEnd = sub.billingEndDate ? localDateIn(sub.billingEndDate, zone) : null;
  const items: Item[] = [];
  const trackingIds = new Set<string>();
  if (billingStart > invoiceDate) return { items, trackingIds };
  const common = {
    productName: plan.product,
    planName: plan.name,
    prettyProductName: product?.prettyName ?? plan.product,
    prettyPlanName: plan.prettyName ?? plan.name,
    catalogEffectiveDate: catalog.effectiveDate.toISOString(),
  };
  const base = { invoiceId, account, sub };
  const periodOf = (billingPeriod: string): BillingInterval | null => {
    const months = monthsIn(billingPeriod);
    return months ? intervalEndingOnOrAfter(invoiceDate, billingStart, sub.billCycleDayLocal, months) : null;
  };
  const firstUsagePeriod =
    plan.finalPhase.usages[0]?.billingPeriod ?? plan.initialPhases[0]?.usages[0]?.billingPeriod;
  const anyInterval = periodOf(plan.finalPhase.recurring?.billingPeriod ?? firstUsagePeriod ?? 'MONTHLY');
  const phase = phaseAt(plan, sub.billingStartDate, startOfDayIn(anyInterval?.start ?? billingStart, zone));

  for (const usage of phase.usages) {
    const interval = periodOf(usage.billingPeriod);
    if (!interval || usage.usageType !== 'CONSUMABLE') continue;
    if (billingEnd !== null && billingEnd <= interval.start) continue;
    const end = billingEnd !== null && billingEnd < interval.end ? billingEnd : interval.end;
    const from = startOfDayIn(interval.start, zone);
    const to = sub.billingEndDate && billingEnd === end ? sub.billingEndDate : startOfDayIn(end, zone);
    const sums = new Map<string, BigDecimal>();
    for (const row of ctx.state.usage) {
      const t = row.recordDate.getTime();
      if (row.subscriptionId !== sub.subscriptionId || t < from.getTime() || t >= to.getTime()) continue;
      sums.set(row.unitType, (sums.get(row.unitType) ?? new BigDecimal(0)).plus(row.amount));
      if (unitsOf(usage).includes(row.unitType)) trackingIds.add(row.trackingId);
    }
    const details = unitsOf(usage).flatMap((unit) =>
      priceConsumableUnit(usage, unit, sums.get(unit) ?? new BigDecimal(0), currency),
    );
    const usageFields = {
      ...common,
      phaseName: phase.name,
      usageName: usage.name,
      prettyPhaseName: phase.name,
      prettyUsageName: usage.prettyName ?? usage.name,
      itemType: 'USAGE',
      description: usage.prettyName ?? usage.name,
      startDate: interval.start,
      endDate: end,
    };
    // AGGREGATE, Kill Bill's default item result mode: one item per usage, its tiers in itemDetails.
    const amount = details.reduce((sum, d) => sum.plus(d.amount), new BigDecimal(0));
    const itemDetails = `{"tierDetails":[${details.map((d) => toJsonNumbers(detailJson(d))).join(',')}],"amount":${amount.toFixed()}}`;
    items.push(itemJson(base, { ...usageFields, amount, itemDetails }));
  }

  const recurring = phase.recurring;
  const price = recurring ? priceIn(recurring.prices, currency) : undefined;
  const months = recurring ? monthsIn(recurring.billingPeriod) : null;
  if (recurring && price && months) {
    const current = intervalEndingOnOrAfter(invoiceDate, billingStart, sub.billCycleDayLocal, months);
    const billed =
      catalog.recurringBillingMode === 'IN_ADVANCE'
        ? followingInterval(current, sub.billCycleDayLocal, months)
        : current;
    const end = billingEnd !== null && billingEnd < billed.end ? billingEnd : billed.end;
    if (billingEnd === null || billingEnd > billed.start) {
      const full = fullIntervalEndingAt(billed.end, sub.billCycleDayLocal, months);
      const days = daysBetween(billed.start, end);
      const fullDays = daysBetween(full.start, full.end);
      const amount = new BigDecimal(price.value)
        .times(days)
        .div(fullDays)
        .toDecimalPlaces(ZERO_DECIMAL.has(currency) ? 0 : 2, BigDecimal.ROUND_HALF_UP);
      items.push(
        itemJson(base, {
          ...common,
          phaseName: phase.name,
          prettyPhaseName: phase.name,
          itemType: 'RECURRING',
          description: phase.name,
          startDate: billed.start,
          endDate: end,
          amount,
          rate: new BigDecimal(price.value),
        }),
      );
    }
  }
  return { items, trackingIds };
}

/** itemDetails is a JSON string inside the JSON; its numbers are written exactly too. */
function toJsonNumbers(value: Record<string, unknown>): string {
  return `{${Object.entries(value)
    .map(
      ([k, v]) =>
        `${JSON.stringify(k)}:${v instanceof BigDecimal ? (v as BigDecimal).toFixed() : JSON.stringify(v)}`,
    )
    .join(',')}}`;
}

export function invoiceRoutes(ctx: StandinContext): Router {
  const router = Router();

  router.post('/1.0/kb/invoices/dryRun', (req, res) => {
    const tenant = tenantOf(res);
    const body = (req.body ?? {}) as { dryRunType?: string };
    const accountId = typeof req.query.accountId === 'string' ? req.query.accountId : '';
    if (!accountId) throw illegalArgument('accountId needs to be specified');
    callContext(req);
    const account = ctx.state.accounts.get(accountId);
    if (!account || account.tenantId !== tenant.tenantId) {
      throw accountApiException(404, 3002, `Account does not exist for id ${accountId}`);
    }
    const dryRunType = body.dryRunType ?? 'TARGET_DATE';
    if (dryRunType === 'SUBSCRIPTION_ACTION') {
      throw illegalArgument('The Kill Bill stand-in does not simulate SUBSCRIPTION_ACTION dry runs');
    }
    const today = localDateIn(ctx.now(), account.timeZone);
    const subs = ctx.state.subscriptionsOfAccount(account.accountId);
    let invoiceDate: LocalDate;
    if (dryRunType === 'UPCOMING_INVOICE') {
      // Kill Bill ignores targetDate here and uses the next date an invoice is due.
      const next = subs
        .filter((s) => !s.billingEndDate || localDateIn(s.billingEndDate, account.timeZone) > today)
        .map(
          (s) =>
            intervalContaining(
              today,
              localDateIn(s.billingStartDate, account.timeZone),
              s.billCycleDayLocal,
              1,
            ).end,
        )
        .sort();
      if (!next.length) throw bareStatus(204);
      invoiceDate = next[0]!;
    } else {
      const raw = typeof req.query.targetDate === 'string' ? req.query.targetDate : today;
      const target = parseLocalDate(raw);
      if (!target) throw illegalArgument(`Invalid format: "${raw}"`);
      invoiceDate = target;
    }
    const invoiceId = randomUUID();
    const items: Item[] = [];
    const trackingIds = new Set<string>();
    for (const sub of subs) {
      const result = subscriptionItems(ctx, tenant, account, sub, invoiceDate, invoiceId);
      items.push(...result.items);
      for (const id of result.trackingIds) trackingIds.add(id);
    }
    // INVOICE_NOTHING_TO_DO surfaces as 204 "Nothing to generate".
    if (!items.length) throw bareStatus(204);
    const amount = items.reduce((sum, i) => sum.plus(i.amount), new BigDecimal(0));
    sendJson(res, 200, {
      amount,
      currency: account.currency,
      status: 'COMMITTED',
      creditAdj: 0,
      refundAdj: 0,
      invoiceId,
      invoiceDate: today,
      targetDate: invoiceDate,
      invoiceNumber: null,
      balance: amount,
      accountId: account.accountId,
      bundleKeys: null,
      credits: null,
      items,
      trackingIds: [...trackingIds],
      isParentInvoice: false,
      parentInvoiceId: null,
      parentAccountId: null,
      auditLogs: [],
    });
  });

  return router;
}
