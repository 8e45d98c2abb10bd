import type { Catalog, CatalogPhase, CatalogPrice } from './catalog-model.js';
import { phasesOf } from './catalog-model.js';

/**
 * The subset of Kill Bill's catalog validation (`StandaloneCatalog.validate` and the `validate` of each
 * Default* catalog class) that needs nothing but the document itself. Returns one message per problem.
 */

const CATEGORIES = ['BASE', 'ADD_ON', 'STANDALONE'];
const PHASE_TYPES = ['TRIAL', 'DISCOUNT', 'FIXEDTERM', 'EVERGREEN'];
const DURATION_UNITS = ['DAYS', 'WEEKS', 'MONTHS', 'YEARS', 'UNLIMITED'];
const BILLING_PERIODS = [
  'DAILY',
  'WEEKLY',
  'BIWEEKLY',
  'THIRTY_DAYS',
  'THIRTY_ONE_DAYS',
  'SIXTY_DAYS',
  'NINETY_DAYS',
  'MONTHLY',
  'BIMESTRIAL',
  'QUARTERLY',
  'TRIANNUAL',
  'BIANNUAL',
  'ANNUAL',
  'SESQUIENNIAL',
  'BIENNIAL',
  'TRIENNIAL',
  'NO_BILLING_PERIOD',
];

export function validateCatalog(catalog: Catalog): string[] {
  const errors: string[] = [];
  if (!catalog.name) errors.push('catalogName is required');
  if (!catalog.currencies.length) errors.push('<currencies> must list at least one currency');
  if (!['IN_ADVANCE', 'IN_ARREAR'].includes(catalog.recurringBillingMode)) {
    errors.push(`recurringBillingMode '${catalog.recurringBillingMode}' is not IN_ADVANCE or IN_ARREAR`);
  }
  const units = new Set(catalog.units.map((u) => u.name));
  const products = new Set<string>();
  for (const p of catalog.products) {
    if (!p.name) errors.push('a product has no name');
    if (products.has(p.name)) errors.push(`product ${p.name} is declared twice`);
    products.add(p.name);
    if (!CATEGORIES.includes(p.category))
      errors.push(`product ${p.name}: category '${p.category}' is invalid`);
  }
  const priced = (prices: CatalogPrice[], where: string): void => {
    for (const currency of catalog.currencies) {
      if (!prices.some((x) => x.currency === currency)) errors.push(`${where}: no price in ${currency}`);
    }
    for (const x of prices) {
      if (!catalog.currencies.includes(x.currency))
        errors.push(`${where}: currency ${x.currency} is not in <currencies>`);
      if (x.value.isNegative()) errors.push(`${where}: negative price ${x.text}`);
    }
  };
  const usageNames = new Set<string>();
  const planNames = new Set<string>();
  for (const plan of catalog.plans) {
    if (!plan.name) errors.push('a plan has no name');
    if (planNames.has(plan.name)) errors.push(`plan ${plan.name} is declared twice`);
    planNames.add(plan.name);
    if (!products.has(plan.product))
      errors.push(`plan ${plan.name}: product '${plan.product}' is not declared`);
    for (const phase of phasesOf(plan)) {
      errors.push(...validatePhase(phase, plan.name));
      if (phase.recurring) priced(phase.recurring.prices, `plan ${plan.name} phase ${phase.type} recurring`);
      if (phase.fixedPrices.length) priced(phase.fixedPrices, `plan ${plan.name} phase ${phase.type} fixed`);
      for (const usage of phase.usages) {
        const where = `plan ${plan.name} usage ${usage.name}`;
        if (!usage.name) errors.push(`plan ${plan.name}: a usage has no name`);
        if (usageNames.has(usage.name)) errors.push(`usage name ${usage.name} is not unique in the catalog`);
        usageNames.add(usage.name);
        if (usage.billingMode !== 'IN_ARREAR') errors.push(`${where}: billingMode must be IN_ARREAR`);
        if (!['CONSUMABLE', 'CAPACITY'].includes(usage.usageType))
          errors.push(`${where}: usageType is invalid`);
        if (!['ALL_TIERS', 'TOP_TIER'].includes(usage.tierBlockPolicy))
          errors.push(`${where}: tierBlockPolicy is invalid`);
        if (!BILLING_PERIODS.includes(usage.billingPeriod)) errors.push(`${where}: billingPeriod is invalid`);
        if (!usage.tiers.length) errors.push(`${where}: no tiers`);
        for (const [i, tier] of usage.tiers.entries()) {
          if (usage.usageType === 'CONSUMABLE' && !tier.blocks.length) {
            errors.push(`${where} tier ${i + 1}: a CONSUMABLE tier needs tieredBlocks`);
          }
          for (const block of tier.blocks) {
            if (!units.has(block.unit))
              errors.push(`${where}: unit '${block.unit}' is not declared in <units>`);
            if (!block.size.isPositive() || block.size.isZero())
              errors.push(`${where}: block size must be > 0`);
            if (!block.max.eq(-1) && !(block.max.isPositive() && !block.max.isZero())) {
              errors.push(`${where}: block max must be -1 or > 0`);
            }
            priced(block.prices, `${where} unit ${block.unit}`);
          }
          for (const limit of tier.limits) {
            if (!units.has(limit.unit))
              errors.push(`${where}: unit '${limit.unit}' is not declared in <units>`);
          }
        }
      }
    }
  }
  if (!catalog.priceLists.length) errors.push('<priceLists> must have a <defaultPriceList>');
  const listed = new Set<string>();
  for (const list of catalog.priceLists) {
    for (const name of list.plans) {
      if (!planNames.has(name)) errors.push(`price list ${list.name}: plan '${name}' is not declared`);
      listed.add(name);
    }
  }
  for (const plan of catalog.plans) {
    if (!listed.has(plan.name)) errors.push(`plan ${plan.name} is not in any price list`);
  }
  return errors;
}

function validatePhase(phase: CatalogPhase, planName: string): string[] {
  const errors: string[] = [];
  const where = `plan ${planName} phase ${phase.type}`;
  if (!PHASE_TYPES.includes(phase.type))
    errors.push(`plan ${planName}: phase type '${phase.type}' is invalid`);
  if (!DURATION_UNITS.includes(phase.duration.unit)) errors.push(`${where}: duration unit is invalid`);
  if (phase.duration.unit !== 'UNLIMITED' && !(phase.duration.number > 0)) {
    errors.push(`${where}: a limited duration needs a positive number`);
  }
  if (phase.recurring && !BILLING_PERIODS.includes(phase.recurring.billingPeriod)) {
    errors.push(`${where}: recurring billingPeriod is invalid`);
  }
  if (phase.recurring && !phase.recurring.prices.length)
    errors.push(`${where}: recurring has no recurringPrice`);
  return errors;
}
