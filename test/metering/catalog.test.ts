import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { readFileSync } from 'node:fs';
import { createConfig } from '../../src/config/schema.js';

// The units the bridge records into by default: the configuration's own default mapping.
const DEFAULT_METRIC_UNITS = createConfig().default('metering.metricUnits') as Record<string, string>;

const catalogPath = (name: string) => new URL(`../../catalog/${name}`, import.meta.url);

// preserveOrder keeps the element order, which Kill Bill's JAXB parser depends on.
type Node = Record<string, unknown> & { ':@'?: Record<string, string> };
function parse(name: string): Node[] {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseTagValue: false,
  });
  return parser.parse(readFileSync(catalogPath(name), 'utf8')) as Node[];
}
const tag = (n: Node) => Object.keys(n).find((k) => k !== ':@') as string;
const children = (nodes: Node[], name: string): Node[] =>
  (nodes.find((n) => tag(n) === name)?.[name] as Node[]) ?? [];
const text = (nodes: Node[], name: string): string =>
  String((children(nodes, name)[0]?.['#text'] as string) ?? '');

describe('metering: catalog', () => {
  const root = children(parse('catalog.xml'), 'catalog');

  it('declares its top-level elements in CatalogSchema order', () => {
    expect(root.map(tag).filter((t) => t !== '#comment')).to.deep.equal([
      'effectiveDate',
      'catalogName',
      'recurringBillingMode',
      'currencies',
      'units',
      'products',
      'rules',
      'plans',
      'priceLists',
    ]);
    expect(children(root, 'rules').map(tag)).to.deep.equal([
      'changePolicy',
      'changeAlignment',
      'cancelPolicy',
      'createAlignment',
      'billingAlignment',
      'priceList',
    ]);
  });

  it('declares the units the bridge records into, priced one cent per unit, block 1, unbounded', () => {
    const units = children(root, 'units').map((u) => u[':@']?.name);
    expect(units).to.have.members(Object.values(DEFAULT_METRIC_UNITS));
    const plan = children(children(root, 'plans'), 'plan');
    const phase = children(plan, 'finalPhase');
    expect(children(children(phase, 'recurring'), 'recurringPrice').length).to.equal(1);
    const usages = children(phase, 'usages');
    const names = usages.map((u) => u[':@']?.name);
    expect(names).to.deep.equal(['openstack-usage-billing-instance', 'openstack-usage-billing-vcpus']);
    const seenUnits: string[] = [];
    for (const usage of usages) {
      expect(usage[':@']).to.include({
        billingMode: 'IN_ARREAR',
        usageType: 'CONSUMABLE',
        tierBlockPolicy: 'ALL_TIERS',
      });
      const body = usage.usage as Node[];
      expect(text(body, 'billingPeriod')).to.equal('MONTHLY');
      const tiers = children(body, 'tiers');
      expect(tiers).to.have.length(1);
      const block = children(children(children(tiers, 'tier'), 'blocks'), 'tieredBlock');
      expect(block.map(tag)).to.deep.equal(['unit', 'size', 'prices', 'max']);
      seenUnits.push(text(block, 'unit'));
      expect(text(block, 'size')).to.equal('1');
      expect(text(block, 'max')).to.equal('-1');
      const price = children(children(block, 'prices'), 'price');
      expect(text(price, 'currency')).to.equal('USD');
      expect(text(price, 'value')).to.equal('0.01');
    }
    expect(seenUnits).to.have.members(Object.values(DEFAULT_METRIC_UNITS));
  });

  it('has a plan in the DEFAULT price list with a zero monthly recurring price', () => {
    const xml = readFileSync(catalogPath('catalog.xml'), 'utf8');
    expect(xml).to.match(
      /<defaultPriceList name="DEFAULT">\s*<plans>\s*<plan>openstack-standard-monthly<\/plan>/,
    );
    expect(xml).to.match(/<product name="Openstack-Standard">\s*<category>BASE<\/category>/);
    expect(xml).to.match(/<value>0\.00<\/value>/);
  });

  it('the priced-in-Kill-Bill example parses and uses hour units', () => {
    const other = children(parse('catalog-priced-in-killbill.xml'), 'catalog');
    expect(children(other, 'units').map((u) => u[':@']?.name)).to.deep.equal([
      'openstack-instance-hours',
      'openstack-vcpu-hours',
    ]);
  });
});
