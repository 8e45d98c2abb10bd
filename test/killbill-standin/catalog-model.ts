import type { Decimal } from 'decimal.js';

/** A catalog version as Kill Bill models it (`StandaloneCatalog`), limited to what the stand-in bills. */

export interface CatalogPrice {
  currency: string;
  value: Decimal;
  /** The XML text, so JSON renderings keep the catalog's own scale. */
  text: string;
}

export interface TieredBlock {
  unit: string;
  size: Decimal;
  max: Decimal;
  sizeText: string;
  maxText: string;
  prices: CatalogPrice[];
}

export interface UsageTier {
  blocks: TieredBlock[];
  limits: { unit: string; max: string; min: string | null }[];
}

export type TierBlockPolicy = 'ALL_TIERS' | 'TOP_TIER';

export interface CatalogUsage {
  name: string;
  prettyName: string | null;
  billingMode: 'IN_ARREAR' | 'IN_ADVANCE';
  usageType: 'CONSUMABLE' | 'CAPACITY';
  tierBlockPolicy: TierBlockPolicy;
  billingPeriod: string;
  tiers: UsageTier[];
}

export type PhaseType = 'TRIAL' | 'DISCOUNT' | 'FIXEDTERM' | 'EVERGREEN';
export type DurationUnit = 'DAYS' | 'WEEKS' | 'MONTHS' | 'YEARS' | 'UNLIMITED';

export interface CatalogPhase {
  /** `<plan>-<phase type in lower case>`, Kill Bill's phase naming. */
  name: string;
  type: PhaseType;
  duration: { unit: DurationUnit; number: number };
  fixedPrices: CatalogPrice[];
  recurring: { billingPeriod: string; prices: CatalogPrice[] } | null;
  usages: CatalogUsage[];
}

export interface CatalogPlan {
  name: string;
  prettyName: string | null;
  product: string;
  initialPhases: CatalogPhase[];
  finalPhase: CatalogPhase;
  /** The final phase's recurring period, or NO_BILLING_PERIOD for usage-only plans. */
  billingPeriod: string;
}

export type ProductCategory = 'BASE' | 'ADD_ON' | 'STANDALONE';

export interface CatalogProduct {
  name: string;
  prettyName: string | null;
  category: ProductCategory;
  included: string[];
  available: string[];
}

export interface CatalogPriceList {
  name: string;
  plans: string[];
}

export interface Catalog {
  name: string;
  effectiveDate: Date;
  recurringBillingMode: 'IN_ADVANCE' | 'IN_ARREAR';
  currencies: string[];
  units: { name: string; prettyName: string | null }[];
  products: CatalogProduct[];
  plans: CatalogPlan[];
  /** The default price list first. */
  priceLists: CatalogPriceList[];
  /** The catalog's default cancel policy (rules/cancelPolicy without a case qualifier). */
  defaultCancelPolicy: 'IMMEDIATE' | 'END_OF_TERM';
}

export function phasesOf(plan: CatalogPlan): CatalogPhase[] {
  return [...plan.initialPhases, plan.finalPhase];
}

export function priceIn(prices: CatalogPrice[], currency: string | null): CatalogPrice | undefined {
  return prices.find((p) => p.currency === currency);
}

/** The version in effect at an instant: the latest one that started by then, else the oldest. */
export function catalogAt(versions: Catalog[], at: Date): Catalog | undefined {
  const sorted = [...versions].sort((a, b) => a.effectiveDate.getTime() - b.effectiveDate.getTime());
  let chosen = sorted[0];
  for (const v of sorted) if (v.effectiveDate.getTime() <= at.getTime()) chosen = v;
  return chosen;
}
