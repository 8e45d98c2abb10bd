import { BigDecimal } from './big-decimal.js';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type {
  Catalog,
  CatalogPhase,
  CatalogPlan,
  CatalogPrice,
  CatalogProduct,
  CatalogUsage,
  DurationUnit,
  PhaseType,
  ProductCategory,
  UsageTier,
} from './catalog-model.js';
import { validateCatalog } from './catalog-validation.js';
import { parseDateTime } from './joda-time.js';

export type { Catalog } from './catalog-model.js';

/** Why a catalog was refused; `errors` lists every problem found, `reason` joins them. */
export class CatalogValidationError extends Error {
  constructor(readonly errors: string[]) {
    super(errors.join('; '));
    this.name = 'CatalogValidationError';
  }

  get reason(): string {
    return this.message;
  }
}

const REPEATED = [
  'currencies.currency',
  'units.unit',
  'products.product',
  'addonProduct',
  'plans.plan',
  'initialPhases.phase',
  'usages.usage',
  'tiers.tier',
  'blocks.tieredBlock',
  'prices.price',
  'recurringPrice.price',
  'fixedPrice.price',
  'limits.limit',
  'priceLists.priceList',
  'cancelPolicyCase',
];

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Prices and block sizes stay text so they can become exact decimals.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name, jpath) => REPEATED.some((suffix) => String(jpath).endsWith(suffix)),
});

type Node = Record<string, unknown>;

function node(value: unknown): Node {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Node) : {};
}

function list(value: unknown): Node[] {
  return Array.isArray(value) ? value.map(node) : value === undefined || value === '' ? [] : [node(value)];
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value.trim();
  if (value && typeof value === 'object' && '#text' in value) return String((value as Node)['#text']).trim();
  return null;
}

function attr(n: Node, name: string): string | null {
  const v = n[`@_${name}`];
  return typeof v === 'string' ? v : null;
}

/**
 * Parses a Kill Bill catalog XML document and applies the rules Kill Bill checks at upload that can be
 * checked locally. Throws CatalogValidationError naming every problem.
 */
export function parseCatalogXml(xml: string): Catalog {
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true) {
    throw new CatalogValidationError([
      `XML is not well-formed: ${wellFormed.err.msg} (line ${wellFormed.err.line})`,
    ]);
  }
  const root = parser.parse(xml) as Node;
  if (!('catalog' in root)) throw new CatalogValidationError(['The root element must be <catalog>']);
  const errors: string[] = [];
  const c = node(root.catalog);
  const price = (p: Node, where: string): CatalogPrice => {
    const currency = text(p.currency) ?? '';
    const raw = text(p.value) ?? '';
    let value = new BigDecimal(0);
    try {
      value = new BigDecimal(raw);
    } catch {
      errors.push(`${where}: price '${raw}' in ${currency} is not a number`);
    }
    return { currency, value, text: raw };
  };
  const usage = (u: Node, where: string): CatalogUsage => {
    const name = attr(u, 'name') ?? '';
    const tiers: UsageTier[] = list(node(u.tiers).tier).map((t) => ({
      blocks: list(node(t.blocks).tieredBlock).map((b) => {
        const sizeText = text(b.size) ?? '';
        const maxText = text(b.max) ?? '-1';
        const decimal = (v: string, what: string): BigDecimal => {
          try {
            return new BigDecimal(v);
          } catch {
            errors.push(`${where} usage ${name}: tieredBlock ${what} '${v}' is not a number`);
            return new BigDecimal(0);
          }
        };
        return {
          unit: text(b.unit) ?? '',
          size: decimal(sizeText, 'size'),
          max: decimal(maxText, 'max'),
          sizeText,
          maxText,
          prices: list(node(b.prices).price).map((p) => price(p, `${where} usage ${name}`)),
        };
      }),
      limits: list(node(t.limits).limit).map((l) => ({
        unit: text(l.unit) ?? '',
        max: text(l.max) ?? '-1',
        min: text(l.min),
      })),
    }));
    return {
      name,
      prettyName: attr(u, 'prettyName'),
      billingMode: (attr(u, 'billingMode') ?? '') as CatalogUsage['billingMode'],
      usageType: (attr(u, 'usageType') ?? '') as CatalogUsage['usageType'],
      // CatalogSafetyInitializer fills in ALL_TIERS when the attribute is absent.
      tierBlockPolicy: (attr(u, 'tierBlockPolicy') ?? 'ALL_TIERS') as CatalogUsage['tierBlockPolicy'],
      billingPeriod: text(u.billingPeriod) ?? '',
      tiers,
    };
  };
  const phase = (p: Node, planName: string, forcedType?: PhaseType): CatalogPhase => {
    const type = (forcedType ?? attr(p, 'type') ?? '') as PhaseType;
    const where = `plan ${planName} phase ${type}`;
    const duration = node(p.duration);
    const recurring = p.recurring === undefined ? null : node(p.recurring);
    return {
      name: `${planName}-${type.toLowerCase()}`,
      type,
      duration: {
        unit: (text(duration.unit) ?? 'UNLIMITED') as DurationUnit,
        number: Number(text(duration.number) ?? -1),
      },
      fixedPrices: list(node(node(p.fixed).fixedPrice).price).map((x) => price(x, where)),
      recurring: recurring
        ? {
            billingPeriod: text(recurring.billingPeriod) ?? '',
            prices: list(node(recurring.recurringPrice).price).map((x) => price(x, where)),
          }
        : null,
      usages: list(node(p.usages).usage).map((u) => usage(u, where)),
    };
  };
  const plans: CatalogPlan[] = list(node(c.plans).plan).map((p) => {
    const name = attr(p, 'name') ?? '';
    const finalPhase = phase(node(p.finalPhase), name);
    return {
      name,
      prettyName: attr(p, 'prettyName'),
      product: text(p.product) ?? '',
      initialPhases: list(node(p.initialPhases).phase).map((x) => phase(x, name)),
      finalPhase,
      billingPeriod: finalPhase.recurring?.billingPeriod ?? 'NO_BILLING_PERIOD',
    };
  });
  const products: CatalogProduct[] = list(node(c.products).product).map((p) => ({
    name: attr(p, 'name') ?? '',
    prettyName: attr(p, 'prettyName'),
    category: (text(p.category) ?? '') as ProductCategory,
    included: texts(node(p.included).addonProduct),
    available: texts(node(p.available).addonProduct),
  }));
  const priceListNode = node(c.priceLists);
  const defaultList = node(priceListNode.defaultPriceList);
  const priceLists = [
    ...(priceListNode.defaultPriceList === undefined
      ? []
      : [{ name: attr(defaultList, 'name') ?? 'DEFAULT', plans: planNames(defaultList) }]),
    ...list(priceListNode.priceList).map((l) => ({ name: attr(l, 'name') ?? '', plans: planNames(l) })),
  ];
  const effectiveText = text(c.effectiveDate) ?? '';
  const effectiveDate = parseDateTime(effectiveText);
  if (!effectiveDate) errors.push(`effectiveDate '${effectiveText}' is not an ISO date-time`);
  const cancelPolicy = list(node(node(c.rules).cancelPolicy).cancelPolicyCase).find(
    (k) => Object.keys(k).filter((key) => key !== 'policy').length === 0,
  );
  const catalog: Catalog = {
    name: text(c.catalogName) ?? '',
    effectiveDate: effectiveDate ?? new Date(0),
    recurringBillingMode: (text(c.recurringBillingMode) ?? 'IN_ADVANCE') as Catalog['recurringBillingMode'],
    currencies: texts(node(c.currencies).currency),
    units: list(node(c.units).unit).map((u) => ({
      name: attr(u, 'name') ?? '',
      prettyName: attr(u, 'prettyName'),
    })),
    products,
    plans,
    priceLists,
    defaultCancelPolicy:
      cancelPolicy && text(cancelPolicy.policy) === 'IMMEDIATE' ? 'IMMEDIATE' : 'END_OF_TERM',
  };
  errors.push(...validateCatalog(catalog));
  if (errors.length) throw new CatalogValidationError(errors);
  return catalog;
}

function planNames(priceList: Node): string[] {
  return texts(node(priceList.plans).plan);
}

function texts(value: unknown): string[] {
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).map((v) => text(v) ?? '');
}
