import { expect } from 'chai';
import { CloudKittyClient } from '../../src/openstack/cloudkitty-client.js';
import type { SummaryQuery } from '../../src/openstack/cloudkitty-summary.js';
import type { RatedUsage } from '../../src/openstack/rated-usage-dataframes.js';
import { seedRatedUsage, startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';

const PROJECTS = 25;
const METRICS = ['instance', 'vcpus'];
const ROWS = PROJECTS * METRICS.length;
const WINDOW = { begin: new Date('2024-04-01T00:00:00Z'), end: new Date('2024-04-02T00:00:00Z') };

function projectId(i: number): string {
  return `p${String(i).padStart(3, '0')}`;
}

describe('CloudKittyClient: summary paging against a real CloudKitty 17', function () {
  this.timeout(60_000);
  let ck: CloudKittyInstance;
  const query: SummaryQuery<'project_id' | 'type'> = {
    ...WINDOW,
    groupby: ['project_id', 'type'],
    filters: { type: METRICS },
  };

  before(async () => {
    ck = await startCloudKitty();
    await ck.reset();
    const usage: RatedUsage[] = [];
    for (let p = 0; p < PROJECTS; p++) {
      for (const metric of METRICS) {
        usage.push({ begin: WINDOW.begin, projectId: projectId(p), metric, price: `${p + 1}.25` });
      }
    }
    await seedRatedUsage(ck.url, usage);
  });

  for (const limit of [7, 10, ROWS, 1000]) {
    it(`reads all ${ROWS} rows with limit ${limit} in ⌈${ROWS}/${limit}⌉ = ${Math.ceil(ROWS / limit)} requests`, async () => {
      const offsets: string[] = [];
      const client = new CloudKittyClient({
        url: ck.url,
        onRequest: (e) => offsets.push(new URL(e.url).searchParams.get('offset') ?? '?'),
      });
      const rows = await client.summary({ ...query, limit });
      expect(client.requestCount).to.equal(Math.ceil(ROWS / limit));
      expect(offsets).to.deep.equal(
        Array.from({ length: Math.ceil(ROWS / limit) }, (_, page) => String(page * limit)),
      );
      const expected = Array.from({ length: PROJECTS }, (_, p) =>
        METRICS.map((metric) => `${projectId(p)}/${metric}/${p + 1}.25`),
      ).flat();
      expect(rows.map((r) => `${r.project_id}/${r.type}/${r.rate}`)).to.deep.equal(expected);
    });
  }

  it('uses the client page size when the query gives no limit', async () => {
    const client = new CloudKittyClient({ url: ck.url, pageSize: 20 });
    const rows = await client.summary(query);
    expect(rows).to.have.length(ROWS);
    expect(client.requestCount).to.equal(Math.ceil(ROWS / 20));
  });

  it('a project rated between two page requests is neither counted twice nor lost: the pull starts again', async () => {
    const proxy = await FaultProxy.start(ck.url);
    // Sorts before every other project, so once it is rated every later page shifts by two rows.
    const newcomer = 'a000';
    let summaries = 0;
    proxy.beforeForward = async (req) => {
      if (!req.path.startsWith('/v2/summary') || ++summaries !== 2) return;
      await seedRatedUsage(ck.url, [
        { begin: WINDOW.begin, projectId: newcomer, metric: 'instance', price: '0.5' },
        { begin: WINDOW.begin, projectId: newcomer, metric: 'vcpus', price: '0.5' },
      ]);
    };
    try {
      const client = new CloudKittyClient({ url: proxy.url });
      const rows = await client.summary({ ...query, limit: 10 });
      const keys = rows.map((r) => `${r.project_id}/${r.type}`);
      expect(new Set(keys).size, 'no row twice').to.equal(keys.length);
      expect(keys).to.have.length(ROWS + 2);
      expect(keys).to.include.members([`${newcomer}/instance`, `${newcomer}/vcpus`, 'p024/vcpus']);
      // The first pass was thrown away once the total moved; the second read everything.
      expect(client.requestCount).to.equal(2 + Math.ceil((ROWS + 2) / 10));
    } finally {
      await proxy.close();
      await ck.reset();
      await seedRatedUsage(
        ck.url,
        Array.from({ length: PROJECTS }, (_, p) =>
          METRICS.map((metric) => ({
            begin: WINDOW.begin,
            projectId: projectId(p),
            metric,
            price: `${p + 1}.25`,
          })),
        ).flat(),
      );
    }
  });
});
