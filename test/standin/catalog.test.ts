import { expect } from 'chai';
import type { AxiosError } from 'axios';
import {
  CATALOG_XML,
  CREATED_BY,
  expectSpecConformance,
  startHarness,
  uploadCatalog,
  type StandinHarness,
} from './support/standin-harness.js';

/** Contract §5.1: catalog upload, read-back, and the validation Kill Bill applies locally. */
describe('Kill Bill stand-in: catalog', () => {
  let h: StandinHarness;

  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  afterEach(() => expectSpecConformance(h.traffic));

  const broken = (from: string, to: string): string => {
    expect(CATALOG_XML).to.contain(from);
    return CATALOG_XML.replace(from, to);
  };

  it('uploads XML (201, Location /1.0/kb/catalog) and serves it back as XML and as JSON versions', async () => {
    const t = await h.newTenant();
    const res = await t.kb.catalog.uploadCatalogXml(CATALOG_XML, CREATED_BY);
    expect(res.status).to.equal(201);
    expect(res.headers.location).to.equal(`${h.standin.url}/1.0/kb/catalog`);
    const xml = await t.kb.catalog.getCatalogXml();
    expect(xml.headers['content-type']).to.match(/^text\/xml/);
    expect(xml.data).to.equal(CATALOG_XML);
    const [version] = (await t.kb.catalog.getCatalogJson()).data;
    expect(version).to.deep.include({
      name: 'StandinCloud',
      effectiveDate: '2020-01-01T00:00:00.000Z',
      currencies: ['USD', 'EUR'],
    });
    expect(version!.units!.map((u) => u.name)).to.deep.equal(['cents', 'liter', 'gb-hour']);
    const cloud = version!.products!.find((p) => p.name === 'Cloud')!;
    expect(cloud.type).to.equal('BASE');
    const block = cloud.plans![0]!.phases![0]!.usages![0]!.tiers![0]!.blocks![0]!;
    expect(block).to.deep.equal({
      unit: 'cents',
      size: '1',
      max: '-1',
      prices: [
        { currency: 'USD', value: 0.01 },
        { currency: 'EUR', value: 0.01 },
      ],
    });
    expect(version!.priceLists).to.deep.equal([{ name: 'DEFAULT', plans: ['cloud-usage', 'water-monthly'] }]);
  });

  it('refuses a malformed or invalid catalog with 400 CatalogApiException and keeps the previous one', async () => {
    const t = await h.newTenant();
    await uploadCatalog(t.kb);
    for (const xml of ['<catalog><unclosed></catalog>', broken('<unit name="liter"/>', '')]) {
      const err = (await t.kb.catalog
        .uploadCatalogXml(xml, CREATED_BY)
        .catch((e: unknown) => e)) as AxiosError<{ className: string }>;
      expect(err.response?.status).to.equal(400);
      expect(err.response?.data.className).to.equal('org.killbill.billing.catalog.api.CatalogApiException');
    }
    expect((await t.kb.catalog.getCatalogJson()).data).to.have.length(1);
  });
});
