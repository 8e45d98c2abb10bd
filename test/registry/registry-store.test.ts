import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type { RegistryProblem } from '../../src/registry/metered-subscription.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { meteredEntry } from '../support/metered-entry.js';
import { commandCalls, RedisServer } from '../support/redis-server.js';

/** Account `i`'s one metered subscription, on a project of its own. */
const entryOf = (i: number) =>
  meteredEntry({
    accountId: `account-${String(i).padStart(5, '0')}`,
    subscriptionId: `subscription-${String(i).padStart(5, '0')}`,
    projectId: i.toString(16).padStart(32, '0'),
  });

/** The registry of a tenant larger than one HSCAN page, in a real Redis. */
describe('registry store: a tenant of thousands of accounts is read in pages', () => {
  const N = 2500;
  let server: RedisServer;
  let redis: Redis;
  let store: RegistryStore;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    store = new RegistryStore(redis, 'pages');
    const now = await store.now();
    for (let i = 0; i < N; i++) {
      const entry = entryOf(i);
      // Every tenth account has a problem, so that counting them shows every record was read once.
      const problems: RegistryProblem[] =
        i % 10 === 0 ? [{ accountId: entry.accountId, message: `problem ${i}` }] : [];
      await store.replaceAccount('bob', entry.accountId, { entries: [entry], problems }, now);
    }
  });
  after(async () => {
    redis?.disconnect();
    await server?.close();
  });

  it('hands on every account record once, over several pages, without one reply holding them all', async () => {
    const scans = await commandCalls(redis, 'hscan');
    const pages: number[] = [];
    const ids = new Set<string>();
    let problems = 0;
    for await (const page of store.accountRecords('bob')) {
      pages.push(page.length);
      for (const record of page) {
        ids.add(record.accountId);
        problems += record.problems.length;
      }
    }
    expect(
      pages.reduce((a, b) => a + b, 0),
      'records handed on',
    ).to.equal(N);
    expect(ids.size, 'distinct accounts').to.equal(N);
    expect(problems).to.equal(N / 10);
    expect(pages.length, 'pages').to.be.greaterThan(1);
    expect((await commandCalls(redis, 'hscan')) - scans, 'HSCAN calls').to.be.greaterThan(1);
  });

  it('reads every subscription entry, sorted by account, in pages', async () => {
    const [scans, hvals] = [await commandCalls(redis, 'hscan'), await commandCalls(redis, 'hvals')];
    const entries = await store.entries('bob');
    expect(entries.map((e) => e.subscriptionId)).to.deep.equal(
      Array.from({ length: N }, (_, i) => entryOf(i).subscriptionId),
    );
    expect(entries.every((e) => e.status === 'metered')).to.equal(true);
    expect((await commandCalls(redis, 'hscan')) - scans, 'HSCAN calls').to.be.greaterThan(1);
    expect((await commandCalls(redis, 'hvals')) - hvals, 'HVALS calls').to.equal(0);
  });
});
