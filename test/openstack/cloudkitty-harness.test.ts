import { expect } from 'chai';
import { CloudKittyClient } from '../../src/clients/openstack/cloudkitty-client.js';
import { seedRatedUsage, startCloudKitty } from '../support/cloudkitty.js';

const HOUR = { begin: new Date('2024-07-01T00:00:00Z'), end: new Date('2024-07-01T01:00:00Z') };

describe('test harness: real CloudKitty 17', function () {
  this.timeout(60_000);

  it('is started once per auth mode and shared', async function () {
    // Longer than the start script's own waits (60 s per server), so a slow start fails with its reason.
    this.timeout(5 * 60_000);
    const [a, b] = await Promise.all([startCloudKitty(), startCloudKitty({ auth: 'noauth' })]);
    expect(a).to.equal(b);
    expect(a.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${a.influxUrl}/ping`)).status).to.equal(204);
  });

  it('reset() empties the rated data while the API keeps running', async () => {
    const ck = await startCloudKitty();
    const client = new CloudKittyClient({ url: ck.url });
    const query = { ...HOUR, groupby: ['project_id'], filters: { type: ['instance'] } } as const;
    await seedRatedUsage(ck.url, [
      { begin: HOUR.begin, projectId: 'gone', metric: 'instance', price: '1.5' },
    ]);
    expect((await client.summary(query)).map((r) => r.rate)).to.deep.equal(['1.5']);
    await ck.reset();
    expect(await client.summary(query)).to.deep.equal([]);
  });

  it('fails at once, saying what to install, when the servers are not installed', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    let started: Promise<unknown>;
    try {
      // A time zone no other suite uses, so the memoized failure stays with this test.
      started = startCloudKitty({ timeZone: 'Etc/GMT+11' });
    } finally {
      process.env.PATH = path;
    }
    let error: unknown;
    await started.catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/missing: cloudkitty-api, cloudkitty-dbsync, influxd, curl/);
    expect(String(error)).to.include(
      'apt-get install -y --no-install-recommends cloudkitty-api influxdb keystone',
    );
  });
});
