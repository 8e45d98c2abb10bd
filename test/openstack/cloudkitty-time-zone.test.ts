import { expect } from 'chai';
import { CloudKittyClient } from '../../src/clients/openstack/cloudkitty-client.js';
import { parseCloudKittyTime } from '../../src/clients/openstack/cloudkitty-time.js';
import {
  markRated,
  seedRatedUsage,
  startCloudKitty,
  type CloudKittyInstance,
} from '../support/cloudkitty.js';

// +05:45 all year: no DST to make the expectations depend on the date, and not a whole hour.
const ZONE = 'Asia/Kathmandu';
const HOUR = { begin: new Date('2024-05-01T22:00:00Z'), end: new Date('2024-05-01T23:00:00Z') };

describe(`CloudKittyClient: a CloudKitty running in ${ZONE}`, function () {
  this.timeout(60_000);
  let ck: CloudKittyInstance;
  let client: CloudKittyClient;

  before(async function () {
    // Longer than the start script's own waits (60 s per server), so a slow start fails with its reason.
    this.timeout(5 * 60_000);
    ck = await startCloudKitty({ timeZone: ZONE });
    client = new CloudKittyClient({ url: ck.url });
    await seedRatedUsage(ck.url, [{ begin: HOUR.begin, projectId: 'tz', metric: 'instance', price: '0.42' }]);
  });

  it('answers in its local offset, which the client turns back into the exact instants', async () => {
    const raw = await fetch(
      `${ck.url}/v2/summary?begin=2024-05-01T22:00:00Z&end=2024-05-01T23:00:00Z&groupby=project_id&filters=type:instance`,
    );
    const body = (await raw.json()) as { results: unknown[][] };
    // The server really is in another zone (and the day changed there), or this test proves nothing.
    expect(body.results[0]?.[0]).to.equal('2024-05-02T03:45:00+05:45');

    const [row] = await client.summary({ ...HOUR, groupby: ['project_id'], filters: { type: ['instance'] } });
    expect(row?.begin.toISOString()).to.equal('2024-05-01T22:00:00.000Z');
    expect(row?.end.toISOString()).to.equal('2024-05-01T23:00:00.000Z');
    expect(row?.rate).to.equal('0.42');
  });

  it('reads scope states, with their timestamps in the server’s offset', async () => {
    expect(await client.scopes()).to.deep.equal([]);
    // Written the way cloudkitty-processor writes it: naive UTC in its SQLite table.
    markRated(ck, 'proj-tz', new Date('2024-05-01T20:00:00Z'));

    const raw = (await (await fetch(`${ck.url}/v2/scope`)).json()) as {
      results: Array<Record<string, unknown>>;
    };
    expect(raw.results[0]?.last_processed_timestamp).to.equal('2024-05-02T01:45:00+05:45');
    expect(await client.scopes()).to.deep.equal([
      {
        scopeId: 'proj-tz',
        scopeKey: 'project_id',
        fetcher: 'keystone',
        collector: 'gnocchi',
        lastProcessedTimestamp: new Date('2024-05-01T20:00:00Z'),
        active: true,
      },
    ]);
    expect(await client.scopes({ scopeIds: ['someone-else'] })).to.deep.equal([]);
  });
});

describe('parseCloudKittyTime', () => {
  it('accepts Z and any ±hh:mm offset, and refuses a time without one', () => {
    expect(parseCloudKittyTime('2023-12-31T19:00:00-05:00')?.toISOString()).to.equal(
      '2024-01-01T00:00:00.000Z',
    );
    expect(parseCloudKittyTime('2024-01-01T00:00:00.5Z')?.toISOString()).to.equal('2024-01-01T00:00:00.500Z');
    expect(parseCloudKittyTime('2024-01-01T00:00:00')).to.equal(undefined);
    expect(parseCloudKittyTime(1704067200)).to.equal(undefined);
  });
});
