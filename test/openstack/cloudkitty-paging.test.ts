import { expect } from 'chai';
import { CloudKittyClient } from '../../src/clients/openstack/cloudkitty-client.js';
import type { SummaryQuery } from '../../src/clients/openstack/cloudkitty-summary.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { seedRatedUsage, startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { OpenStackRequests } from '../support/openstack-requests.js';

const PROJECTS = 25;
const METRICS = ['instance', 'vcpus'];
const ROWS = PROJECTS * METRICS.length;
const WINDOW = { begin: new Date('2024-04-01T00:00:00Z'), end: new Date('2024-04-02T00:00:00Z') };

/**
 * The summary requests of one pull, by offset: one page alone; for more pages, the first page (which tells there
 * are more), a fingerprint of the data (offset 0, limit 1), every page, and the fingerprint again.
 */
function pullOffsets(rows: number, limit: number): string[] {
  const pages = Array.from({ length: Math.ceil(rows / limit) }, (_, page) => String(page * limit));
  return pages.length === 1 ? pages : ['0', '0', ...pages, '0'];
}

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

  before(async function () {
    // Longer than the start script's own waits (60 s per server), so a slow start fails with its reason.
    this.timeout(5 * 60_000);
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
    it(`reads all ${ROWS} rows with limit ${limit} in ${pullOffsets(ROWS, limit).length} requests`, async () => {
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({ url: ck.url, onRequest: sent.onRequest });
      const rows = await client.summary({ ...query, limit });
      const offsets = sent.events.map((e) => new URL(e.url).searchParams.get('offset') ?? '?');
      expect(offsets).to.deep.equal(pullOffsets(ROWS, limit));
      const expected = Array.from({ length: PROJECTS }, (_, p) =>
        METRICS.map((metric) => `${projectId(p)}/${metric}/${p + 1}.25`),
      ).flat();
      expect(rows.map((r) => `${r.project_id}/${r.type}/${r.rate}`)).to.deep.equal(expected);
    });
  }

  it('uses the client page size when the query gives no limit', async () => {
    const sent = new OpenStackRequests();
    const client = new CloudKittyClient({ url: ck.url, pageSize: 20, onRequest: sent.onRequest });
    const rows = await client.summary(query);
    expect(rows).to.have.length(ROWS);
    expect(sent.count).to.equal(pullOffsets(ROWS, 20).length);
  });

  it('a project rated between two page requests is neither counted twice nor lost: the pull starts again', async () => {
    const proxy = await FaultProxy.start(ck.url);
    // Sorts before every other project, so once it is rated every later page shifts by two rows.
    const newcomer = 'a000';
    let rated = false;
    proxy.beforeForward = async (req) => {
      // Right before page 2 of the pass (offset 10), once.
      const offset = new URL(req.path, 'http://x').searchParams.get('offset');
      if (rated || !req.path.startsWith('/v2/summary') || offset !== '10') return;
      rated = true;
      await seedRatedUsage(ck.url, [
        { begin: WINDOW.begin, projectId: newcomer, metric: 'instance', price: '0.5' },
        { begin: WINDOW.begin, projectId: newcomer, metric: 'vcpus', price: '0.5' },
      ]);
    };
    try {
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({ url: proxy.url, onRequest: sent.onRequest });
      const rows = await client.summary({ ...query, limit: 10 });
      const keys = rows.map((r) => `${r.project_id}/${r.type}`);
      expect(new Set(keys).size, 'no row twice').to.equal(keys.length);
      expect(keys).to.have.length(ROWS + 2);
      expect(keys).to.include.members([`${newcomer}/instance`, `${newcomer}/vcpus`, 'p024/vcpus']);
      // The first pass (first page, fingerprint, pages 1 and 2) was thrown away once the total moved; the
      // second read everything.
      expect(sent.count).to.equal(4 + pullOffsets(ROWS + 2, 10).length);
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
  it('a project already read, rated for another hour before the next page (same total, same order), is read whole', async () => {
    const proxy = await FaultProxy.start(ck.url);
    const extra = {
      begin: new Date(WINDOW.begin.getTime() + 3_600_000),
      projectId: projectId(0),
      metric: 'instance',
    };
    let rated = false;
    proxy.beforeForward = async (req) => {
      const offset = new URL(req.path, 'http://x').searchParams.get('offset');
      if (rated || !req.path.startsWith('/v2/summary') || offset !== '10') return;
      rated = true;
      // p000/instance is row 0, on page 1: its rate changes in place; no row moves, the total stays.
      await seedRatedUsage(ck.url, [{ ...extra, price: '0.5' }]);
    };
    try {
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({ url: proxy.url, onRequest: sent.onRequest });
      const rows = await client.summary({ ...query, limit: 10 });
      expect(rated).to.equal(true);
      const unpaged = await new CloudKittyClient({ url: ck.url }).summary({ ...query, limit: 1000 });
      expect(rows.map((r) => `${r.project_id}/${r.type}/${r.rate}`)).to.deep.equal(
        unpaged.map((r) => `${r.project_id}/${r.type}/${r.rate}`),
      );
      expect(rows[0]?.rate).to.equal('1.75');
    } finally {
      await proxy.close();
      // Rated at 0 instead: the sums the other tests expect are back (a point is overwritten, not removed).
      await seedRatedUsage(ck.url, [{ ...extra, price: '0' }]);
    }
  });
});
