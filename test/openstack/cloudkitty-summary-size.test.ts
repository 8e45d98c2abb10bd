import { expect } from 'chai';
import { CloudKittyClient } from '../../src/clients/openstack/cloudkitty-client.js';
import type { SummaryQuery } from '../../src/clients/openstack/cloudkitty-summary.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { seedRatedUsage, startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { OpenStackRequests } from '../support/openstack-requests.js';
import { SummaryUnstableError } from '../../src/errors/index.js';

const PROJECTS = 25;
const METRICS = ['instance', 'vcpus'];
const ROWS = PROJECTS * METRICS.length;
const WINDOW = { begin: new Date('2024-04-01T00:00:00Z'), end: new Date('2024-04-02T00:00:00Z') };

/** The `limit` of each summary request: the one asked, then, when the result is larger, the whole of it. */
function requestLimits(rows: number, limit: number): string[] {
  return rows <= limit ? [String(limit)] : [String(limit), String(rows)];
}

/** Each summary request's `limit`, and whether any asked an offset other than 0. */
function limitsOf(sent: OpenStackRequests): { limits: string[]; offsets: Set<string> } {
  const params = sent.events.map((e) => new URL(e.url).searchParams);
  return {
    limits: params.map((p) => p.get('limit') ?? '?'),
    offsets: new Set(params.map((p) => p.get('offset') ?? '?')),
  };
}

function seededRows(): RatedUsage[] {
  return Array.from({ length: PROJECTS }, (_, p) =>
    METRICS.map((metric) => ({ begin: WINDOW.begin, projectId: projectId(p), metric, price: `${p + 1}.25` })),
  ).flat();
}

function projectId(i: number): string {
  return `p${String(i).padStart(3, '0')}`;
}

describe('CloudKittyClient: a summary is one response, never paged by offset (real CloudKitty 17)', function () {
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
    await seedRatedUsage(ck.url, seededRows());
  });

  for (const limit of [7, 10, ROWS, 1000]) {
    const limits = requestLimits(ROWS, limit);
    it(`reads all ${ROWS} rows with limit ${limit} in ${limits.length} request(s), limits ${limits.join(', ')}`, async () => {
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({ url: ck.url, onRequest: sent.onRequest });
      const rows = await client.summary({ ...query, limit });
      expect(limitsOf(sent)).to.deep.equal({ limits, offsets: new Set(['0']) });
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
    expect(limitsOf(sent).limits).to.deep.equal(requestLimits(ROWS, 20));
  });

  describe('while CloudKitty rates', () => {
    let proxy: FaultProxy;
    beforeEach(async () => {
      proxy = await FaultProxy.start(ck.url);
    });
    afterEach(async () => {
      await proxy.close();
      await ck.reset();
      await seedRatedUsage(ck.url, seededRows());
    });

    it('a project rated between the first request and the whole one is in the answer once: the total is asked again', async () => {
      // Sorts before every other project, so it shifts every row after it.
      const newcomer = 'a000';
      let rated = false;
      proxy.beforeForward = async (req) => {
        const limit = new URL(req.path, 'http://x').searchParams.get('limit');
        if (rated || !req.path.startsWith('/v2/summary') || limit !== String(ROWS)) return;
        rated = true;
        await seedRatedUsage(ck.url, [
          { begin: WINDOW.begin, projectId: newcomer, metric: 'instance', price: '0.5' },
          { begin: WINDOW.begin, projectId: newcomer, metric: 'vcpus', price: '0.5' },
        ]);
      };
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({ url: proxy.url, onRequest: sent.onRequest });
      const rows = await client.summary({ ...query, limit: 10 });
      const keys = rows.map((r) => `${r.project_id}/${r.type}`);
      expect(new Set(keys).size, 'no row twice').to.equal(keys.length);
      expect(keys).to.have.length(ROWS + 2);
      expect(keys).to.include.members([`${newcomer}/instance`, `${newcomer}/vcpus`, 'p024/vcpus']);
      expect(limitsOf(sent).limits).to.deep.equal(['10', String(ROWS), String(ROWS + 2)]);
    });

    it('a summary that grows before every request is given up as unstable, retryable, after five', async () => {
      let added = 0;
      proxy.beforeForward = async (req) => {
        if (!req.path.startsWith('/v2/summary')) return;
        const projectId = `a${String(added++).padStart(3, '0')}`;
        await seedRatedUsage(ck.url, [{ begin: WINDOW.begin, projectId, metric: 'instance', price: '1' }]);
      };
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({ url: proxy.url, onRequest: sent.onRequest });
      const error = await client.summary({ ...query, limit: 10 }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(SummaryUnstableError);
      expect((error as SummaryUnstableError).retryable).to.equal(true);
      expect(limitsOf(sent).limits).to.deep.equal(['10', '51', '52', '53', '54']);
    });
  });
});
