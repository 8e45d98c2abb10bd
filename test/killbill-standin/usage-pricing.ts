import { BigDecimal } from './big-decimal.js';
import { catalogApiException } from './billing-exception.js';
import { priceIn, type CatalogUsage, type TieredBlock } from './catalog-model.js';

/**
 * Consumable in-arrear pricing as ContiguousIntervalConsumableUsageInArrear does it in 0.24: the period's
 * usage of a unit is summed first, then cut into blocks (any remainder costs a whole block) and priced
 * tier by tier (ALL_TIERS) or entirely at the tier it reaches (TOP_TIER).
 */

/** UsageConsumableInArrearTierUnitAggregate, the JSON kept in an item's itemDetails. */
export interface TierUnitAggregate {
  tier: number;
  tierUnit: string;
  tierPrice: BigDecimal;
  tierBlockSize: BigDecimal;
  quantity: BigDecimal;
  amount: BigDecimal;
}

/** Java's divideAndRemainder, then one more block for any remainder. */
function blocksFor(units: BigDecimal, size: BigDecimal): BigDecimal {
  const whole = units.divToInt(size);
  return units.mod(size).isZero() ? whole : whole.plus(1);
}

function blockPrice(block: TieredBlock, currency: string, usage: CatalogUsage): BigDecimal {
  const price = priceIn(block.prices, currency);
  if (!price)
    throw catalogApiException(2010, `This price does not have a value for the currency '${currency}'.`);
  if (!price.value) throw catalogApiException(2011, `usage ${usage.name}: no price in ${currency}`);
  return new BigDecimal(price.value);
}

function aggregate(
  tier: number,
  block: TieredBlock,
  price: BigDecimal,
  quantity: BigDecimal,
): TierUnitAggregate {
  return {
    tier,
    tierUnit: block.unit,
    tierPrice: price,
    tierBlockSize: new BigDecimal(block.size),
    quantity,
    amount: price.times(quantity),
  };
}

/** The unit's tiered blocks, one per tier that prices it. */
export function tieredBlocksFor(usage: CatalogUsage, unit: string): TieredBlock[] {
  return usage.tiers.flatMap((t) => t.blocks.filter((b) => b.unit === unit));
}

/** The units a usage section bills, in catalog order. */
export function unitsOf(usage: CatalogUsage): string[] {
  return [...new Set(usage.tiers.flatMap((t) => t.blocks.map((b) => b.unit)))];
}

export function priceConsumableUnit(
  usage: CatalogUsage,
  unit: string,
  units: BigDecimal,
  currency: string,
): TierUnitAggregate[] {
  const blocks = tieredBlocksFor(usage, unit);
  if (!blocks.length) return [];
  return usage.tierBlockPolicy === 'TOP_TIER'
    ? [topTier(usage, blocks, units, currency)]
    : allTiers(usage, blocks, units, currency);
}

function allTiers(
  usage: CatalogUsage,
  blocks: TieredBlock[],
  units: BigDecimal,
  currency: string,
): TierUnitAggregate[] {
  const result: TierUnitAggregate[] = [];
  let remaining = new BigDecimal(units);
  blocks.forEach((block, index) => {
    const size = new BigDecimal(block.size);
    const max = new BigDecimal(block.max);
    const needed = blocksFor(remaining, size);
    let used: BigDecimal;
    if (!max.eq(-1) && needed.gt(max)) {
      used = max;
      remaining = remaining.minus(max.times(size));
    } else {
      used = needed;
      remaining = new BigDecimal(0);
    }
    // Tier 1 always gets an entry, so a period without usage still yields a $0 item.
    if (index === 0 || used.gt(0))
      result.push(aggregate(index + 1, block, blockPrice(block, currency, usage), used));
  });
  return result;
}

function topTier(
  usage: CatalogUsage,
  blocks: TieredBlock[],
  units: BigDecimal,
  currency: string,
): TierUnitAggregate {
  let remaining = new BigDecimal(units);
  let target = blocks.length - 1;
  for (const [index, block] of blocks.entries()) {
    const size = new BigDecimal(block.size);
    const max = new BigDecimal(block.max);
    // An unbounded tier (max -1) is never "reached" here, so the last tier is the default.
    if (blocksFor(remaining, size).gt(max)) {
      remaining = remaining.minus(max.times(size));
    } else {
      target = index;
      break;
    }
  }
  const block = blocks[target]!;
  const quantity = blocksFor(new BigDecimal(units), new BigDecimal(block.size));
  return aggregate(target + 1, block, blockPrice(block, currency, usage), quantity);
}
