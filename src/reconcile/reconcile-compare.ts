import { Decimal } from 'decimal.js';
import {
  parseCreditDescription,
  periodTotalCents,
  toCentsHalfUp,
  toSafeCents,
  type Cents,
} from '../metering/index.js';

/**
 * Pure: does what Kill Bill bills a subscription for one billing period equal what CloudKitty rated for
 * it? No I/O here; reconcile-run.ts gathers the figures. Every amount is integer cents: Kill Bill's
 * amounts arrive as JSON numbers with the currency's decimals, and are read through their decimal text.
 */

/** The parts of Kill Bill's invoice item JSON the comparison reads. */
export interface BilledItem {
  itemType?: string;
  subscriptionId?: string | null;
  usageName?: string | null;
  /** Account-local dates, YYYY-MM-DD. */
  startDate?: string | null;
  endDate?: string | null;
  amount?: number | string | null;
  description?: string | null;
  /** ALL_TIERS usage items: JSON with `tierDetails[].tierUnit`, the unit the item bills. */
  itemDetails?: string | null;
}

/** One metered subscription's period, with everything gathered for it. */
export interface PeriodFigures {
  tenant: string;
  accountId: string;
  subscriptionId: string;
  /** The cluster (Heat stack) the subscription bills, if it bills one (docs/clusters.md). */
  stackId?: string | null;
  stackName?: string | null;
  currency: string;
  /** The period clipped to the subscription's span, UTC, half-open. */
  start: Date;
  end: Date;
  /** The account-local dates Kill Bill puts on the period's items: start inclusive, end exclusive. */
  localStart: string;
  localEnd: string;
  /** The Kill Bill units the subscription meters. */
  units: readonly string[];
  /** Per unit, CloudKitty's quantized rate of each window of the period, in time order. */
  rates: Readonly<Record<string, ReadonlyArray<string | null>>>;
  /** Per unit, what Kill Bill's usage API holds for the period (the bridge records one unit per cent). */
  recorded: Readonly<Record<string, string | number>>;
  /** Items of the account's invoices (credits included), and of the dry run at the period's end. */
  invoiced: readonly BilledItem[];
  toBeInvoiced: readonly BilledItem[];
  /** Usage name → unit, for items whose details do not name it. */
  usageUnits?: Readonly<Record<string, string>>;
}

export interface ReconcileLine {
  tenant: string;
  accountId: string;
  subscriptionId: string;
  stackId: string | null;
  stackName: string | null;
  unit: string;
  currency: string;
  periodStart: string;
  periodEnd: string;
  /** CloudKitty's exact total, rounded once half-up. */
  cloudkittyCents: Cents;
  recordedCents: Cents;
  invoicedCents: Cents;
  toBeInvoicedCents: Cents;
  /** The bridge's own credits (`osb1-credit …`) for windows of this period and unit, as a positive amount. */
  creditedCents: Cents;
  /** CloudKitty − (invoiced + to be invoiced − credited): > 0 is money Kill Bill is missing. */
  differenceCents: Cents;
}

export interface ReconcileTotals {
  cloudkittyCents: Cents;
  billedCents: Cents;
  creditedCents: Cents;
  differenceCents: Cents;
}

/**
 * A project's usage in the reconciled periods that none of its metered subscriptions owns (a stack no
 * subscription names): billed to no one, so it is shown beside the lines, not in them. With it, the lines of a
 * project's subscriptions plus this add up to all the project's rated usage of the metric types they bill.
 */
export interface UnattributedLine {
  tenant: string;
  projectId: string;
  /** The accounts whose subscriptions meter the project. */
  accountIds: string[];
  /** The stack ids (null: untagged) whose rows no subscription owns. */
  stacks: Array<string | null>;
  periodStart: string;
  periodEnd: string;
  /** Per metric type, CloudKitty's rated money: exact decimal text, and rounded half-up to cents. */
  rated: Record<string, string>;
  ratedCents: Record<string, Cents>;
}

export interface ReconcileReport {
  lines: ReconcileLine[];
  unattributed: UnattributedLine[];
  /** Per currency: cents of different currencies are never added together. */
  totals: Record<string, ReconcileTotals>;
  /**
   * Per tenant, the sum of its lines' differences taken without sign, in cents (the metric): a line 5¢
   * short and another 5¢ over are two errors, and must not add up to a reassuring 0.
   */
  byTenant: Record<string, Cents>;
  ok: boolean;
}

/** Kill Bill's amount (a JSON number or text with the currency's decimals) in whole cents. */
export function amountCents(amount: number | string | null | undefined): Cents {
  return toSafeCents(new Decimal(String(amount ?? 0)).times(100));
}

/** The unit a USAGE item bills: from its tier details, else from its usage name. */
export function unitOfItem(item: BilledItem, usageUnits: Readonly<Record<string, string>> = {}) {
  if (item.itemDetails) {
    try {
      const details = JSON.parse(item.itemDetails) as { tierDetails?: Array<{ tierUnit?: string }> };
      const units = new Set((details.tierDetails ?? []).map((t) => t.tierUnit).filter(Boolean));
      if (units.size === 1) return [...units][0]!;
    } catch {
      // Not JSON: fall back to the usage name.
    }
  }
  return item.usageName ? usageUnits[item.usageName] : undefined;
}

const inPeriod = (f: PeriodFigures, date: string | null | undefined) =>
  typeof date === 'string' && date.slice(0, 10) >= f.localStart && date.slice(0, 10) < f.localEnd;

function usageCents(f: PeriodFigures, items: readonly BilledItem[], unit: string): Cents {
  return items
    .filter(
      (it) =>
        it.itemType === 'USAGE' &&
        it.subscriptionId === f.subscriptionId &&
        inPeriod(f, it.startDate) &&
        unitOfItem(it, f.usageUnits) === unit,
    )
    .reduce((sum, it) => sum + amountCents(it.amount), 0);
}

/** The bridge's credits for this subscription, unit and period, tied by the window in their description. */
function creditedCents(f: PeriodFigures, unit: string): Cents {
  let cents = 0;
  for (const it of f.invoiced) {
    if (it.itemType !== 'CREDIT_ADJ') continue;
    const credit = parseCreditDescription(it.description);
    if (!credit || credit.subscriptionId !== f.subscriptionId || credit.unitType !== unit) continue;
    if (credit.windowStart < f.start || credit.windowStart >= f.end) continue;
    // Kill Bill writes a credit item as a negative amount; its size is what was given back.
    cents += Math.abs(amountCents(it.amount));
  }
  return cents;
}

/** One line per metered unit of the subscription's period. */
export function comparePeriod(f: PeriodFigures): ReconcileLine[] {
  return f.units.map((unit) => {
    const cloudkittyCents = periodTotalCents(f.rates[unit] ?? []);
    const invoicedCents = usageCents(f, f.invoiced, unit);
    const toBeInvoicedCents = usageCents(f, f.toBeInvoiced, unit);
    const credited = creditedCents(f, unit);
    return {
      tenant: f.tenant,
      accountId: f.accountId,
      subscriptionId: f.subscriptionId,
      stackId: f.stackId ?? null,
      stackName: f.stackName ?? null,
      unit,
      currency: f.currency,
      periodStart: f.start.toISOString(),
      periodEnd: f.end.toISOString(),
      cloudkittyCents,
      // Units the bridge did not record may be fractional; shown only, so rounded for display.
      recordedCents: toSafeCents(
        new Decimal(String(f.recorded[unit] ?? 0)).toDecimalPlaces(0, Decimal.ROUND_HALF_UP),
      ),
      invoicedCents,
      toBeInvoicedCents,
      creditedCents: credited,
      differenceCents: cloudkittyCents - (invoicedCents + toBeInvoicedCents - credited),
    };
  });
}

/** Every line, totals per currency and per tenant, and whether every difference is zero. */
export function reconcile(
  periods: readonly PeriodFigures[],
  unattributed: readonly Omit<UnattributedLine, 'ratedCents'>[] = [],
): ReconcileReport {
  const lines = periods.flatMap(comparePeriod);
  const totals: Record<string, ReconcileTotals> = {};
  const byTenant: Record<string, Cents> = {};
  for (const l of lines) {
    const t = (totals[l.currency] ??= {
      cloudkittyCents: 0,
      billedCents: 0,
      creditedCents: 0,
      differenceCents: 0,
    });
    t.cloudkittyCents += l.cloudkittyCents;
    t.billedCents += l.invoicedCents + l.toBeInvoicedCents;
    t.creditedCents += l.creditedCents;
    t.differenceCents += l.differenceCents;
    byTenant[l.tenant] = (byTenant[l.tenant] ?? 0) + Math.abs(l.differenceCents);
  }
  return {
    lines,
    // Billed to no one is not a difference between Kill Bill and CloudKitty: shown, and logged, but `ok` stays.
    unattributed: unattributed.map((u) => ({
      ...u,
      ratedCents: Object.fromEntries(
        Object.entries(u.rated).map(([type, exact]) => [type, toCentsHalfUp(new Decimal(exact))]),
      ),
    })),
    totals,
    byTenant,
    ok: lines.every((l) => l.differenceCents === 0),
  };
}
