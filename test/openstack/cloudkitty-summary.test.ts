import { expect } from 'chai';
import { CloudKittyClient } from '../../src/clients/openstack/cloudkitty-client.js';
import type { SummaryFilters } from '../../src/clients/openstack/cloudkitty-summary.js';
import type { OpenStackRequestEvent } from '../../src/clients/openstack/openstack-http.js';
import { OpenStackRequestError } from '../../src/errors/index.js';
import { postDataframes, type Dataframe, type RatedUsage } from '../support/rated-usage-dataframes.js';
import { seedRatedUsage, startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';

const DAY = { begin: new Date('2024-03-01T00:00:00Z'), end: new Date('2024-03-02T00:00:00Z') };
const HOUR_MS = 3_600_000;

/** 24 hours of one VM in project alpha (0.05/h + 2 vcpus at 0.01/h), 3 hours of one in beta. */
function dayOfUsage(): RatedUsage[] {
  const usage: RatedUsage[] = [];
  for (let h = 0; h < 24; h++) {
    const begin = new Date(DAY.begin.getTime() + h * HOUR_MS);
    usage.push({ begin, projectId: 'alpha', metric: 'instance', price: '0.05', resourceId: 'vm-a' });
    usage.push({ begin, projectId: 'alpha', metric: 'vcpus', qty: '2', price: '0.02', resourceId: 'vm-a' });
    if (h < 3)
      usage.push({ begin, projectId: 'beta', metric: 'instance', price: '0.10', resourceId: 'vm-b' });
  }
  return usage;
}

/** What a float64 accumulation gives, which is what CloudKitty's InfluxDB SUM() answers. */
function floatSum(price: number, times: number): string {
  let sum = 0;
  for (let i = 0; i < times; i++) sum += price;
  return String(sum);
}

describe('CloudKittyClient: summary against a real CloudKitty 17 (noauth)', function () {
  this.timeout(60_000);
  let ck: CloudKittyInstance;
  const sent: OpenStackRequestEvent[] = [];
  let client: CloudKittyClient;

  before(async function () {
    // Longer than the start script's own waits (60 s per server), so a slow start fails with its reason.
    this.timeout(5 * 60_000);
    ck = await startCloudKitty();
    await ck.reset();
    await seedRatedUsage(ck.url, dayOfUsage());
    client = new CloudKittyClient({ url: ck.url, onRequest: (e) => sent.push(e) });
  });
  beforeEach(() => {
    sent.length = 0;
  });

  it('groups by project_id and type with qty and rate as CloudKitty’s exact decimal text', async () => {
    const rows = await client.summary({
      ...DAY,
      groupby: ['project_id', 'type'],
      filters: { type: ['instance', 'vcpus'] },
    });
    expect(rows.map((r) => [r.project_id, r.type, r.qty, r.rate])).to.deep.equal([
      ['alpha', 'instance', '24', floatSum(0.05, 24)],
      ['alpha', 'vcpus', '48', floatSum(0.02, 24)],
      ['beta', 'instance', '3', floatSum(0.1, 3)],
    ]);
    for (const row of rows) {
      expect(row.begin.toISOString()).to.equal('2024-03-01T00:00:00.000Z');
      expect(row.end.toISOString()).to.equal('2024-03-02T00:00:00.000Z');
    }
  });

  it('keeps the float noise as text instead of rounding it away (rounding is the caller’s decision)', async () => {
    const [row] = await client.summary({
      ...DAY,
      groupby: ['project_id'],
      filters: { project_id: ['beta'] },
    });
    // 0.1 + 0.1 + 0.1 in float64: the client must neither round it nor turn it into a number.
    expect(row?.rate).to.equal('0.30000000000000004');
    expect(row?.project_id).to.equal('beta');
  });

  it('returns per-period rows with null qty and rate for periods without data', async () => {
    const rows = await client.summary({
      begin: DAY.begin,
      end: new Date(DAY.begin.getTime() + 5 * HOUR_MS),
      groupby: ['time', 'project_id'],
      filters: { project_id: ['beta'], type: ['instance'] },
    });
    expect(rows.map((r) => [r.begin.toISOString(), r.rate])).to.deep.equal([
      ['2024-03-01T00:00:00.000Z', '0.1'],
      ['2024-03-01T01:00:00.000Z', '0.1'],
      ['2024-03-01T02:00:00.000Z', '0.1'],
      ['2024-03-01T03:00:00.000Z', null],
      ['2024-03-01T04:00:00.000Z', null],
    ]);
  });

  it('always sends the filters explicitly, with times in UTC as ...Z', async () => {
    await client.summary({
      ...DAY,
      groupby: ['project_id'],
      filters: { project_id: ['alpha', 'beta'], type: ['vcpus'] },
    });
    expect(sent).to.have.length(1);
    const query = new URL(sent[0]!.url).searchParams;
    expect(query.getAll('filters')).to.deep.equal(['project_id:alpha,project_id:beta,type:vcpus']);
    expect(query.get('begin')).to.equal('2024-03-01T00:00:00Z');
    expect(query.get('end')).to.equal('2024-03-02T00:00:00Z');
    expect(query.get('groupby')).to.equal('project_id');
  });

  it('refuses empty filters before sending anything', async () => {
    for (const filters of [{}, { type: [] }] as SummaryFilters[]) {
      let error: unknown;
      await client.summary({ ...DAY, groupby: ['project_id'], filters }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(RangeError);
    }
    expect(sent).to.have.length(0);
  });

  it('gives an empty list for a window without data, in one request', async () => {
    const rows = await client.summary({
      begin: new Date('2019-01-01T00:00:00Z'),
      end: new Date('2019-01-02T00:00:00Z'),
      groupby: ['project_id', 'type'],
      filters: { type: ['instance'] },
    });
    expect(rows).to.deep.equal([]);
    expect(sent).to.have.length(1);
  });

  it('gives an empty list for filters nothing matches', async () => {
    const rows = await client.summary({
      ...DAY,
      groupby: ['project_id'],
      filters: { project_id: ['nobody'] },
    });
    expect(rows).to.deep.equal([]);
  });

  it('does not mistake a wrong base URL (an HTML 404) for an empty result', async () => {
    const misplaced = new CloudKittyClient({ url: `${ck.url}/rating` });
    let error: unknown;
    await misplaced
      .summary({ ...DAY, groupby: ['project_id'], filters: { type: ['instance'] } })
      .catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(OpenStackRequestError);
    expect((error as OpenStackRequestError).status).to.equal(404);
    expect((error as OpenStackRequestError).url.startsWith(`${ck.url}/rating/v2/summary?`)).to.equal(true);
  });

  it('reports a request CloudKitty rejects as a typed error with its message, without retrying', async () => {
    // The bridge sends CloudKitty nothing it refuses; the seeding POST goes through the same HTTP plumbing.
    const noEnd = { period: { begin: '2024-03-01T00:00:00Z' }, usage: {} } as unknown as Dataframe;
    let error: unknown;
    await postDataframes({ url: ck.url }, [noEnd], { onRequest: (e) => sent.push(e) }).catch(
      (e: unknown) => (error = e),
    );
    expect(error).to.be.instanceOf(OpenStackRequestError);
    const failure = error as OpenStackRequestError;
    expect(failure.status).to.equal(400);
    expect(failure.attempts).to.equal(1);
    expect(failure.method).to.equal('POST');
    expect(failure.url).to.equal(`${ck.url}/v2/dataframes`);
    expect(failure.serverMessage).to.match(/^Invalid data/);
    expect(sent).to.have.length(1);
  });
});
