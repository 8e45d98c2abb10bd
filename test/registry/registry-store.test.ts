import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type { RegistryProblem } from '../../src/registry/metered-subscription.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { meteredEntry } from '../support/metered-entry.js';
import { commandCalls, RedisServer } from '../support/redis-server.js';

/** Account `i`'s one metered subscription, on a project of its own; every third one billed on vcpus. */
const entryOf = (i: number) =>
  meteredEntry({
    accountId: `account-${String(i).padStart(5, '0')}`,
    subscriptionId: `subscription-${String(i).padStart(5, '0')}`,
    projectId: i.toString(16).padStart(32, '0'),
    units: i % 3 === 0 ? { vcpus: 'openstack-billed-vcpus' } : { instance: 'openstack-billed-instance' },
  });

/**
 * The store's client with `act` run after its first HSCAN answer (a real write, through another client, at a
 * moment no timing could pick) and `alter` applied to each HSCAN answer; it counts the scans begun (cursor 0).
 */
function scanWatched(
  redis: Redis,
  act: () => Promise<unknown>,
  alter = (flat: string[], _n: number) => flat,
) {
  let [answers, begun] = [0, 0];
  const client = new Proxy(redis, {
    get(target, prop) {
      if (prop !== 'hscan') {
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (...args: Parameters<Redis['hscan']>) => {
        if (String(args[1]) === '0') begun++;
        const [cursor, flat] = await target.hscan(...args);
        if (++answers === 1) await act();
        return [cursor, alter(flat, answers)];
      };
    },
  });
  return { client, scansBegun: () => begun };
}

/** The registry of a tenant larger than one HSCAN page, in a real Redis. */
describe('registry store: a tenant of thousands of accounts is read in pages', () => {
  const N = 2500;
  let server: RedisServer;
  let redis: Redis;
  /** A second connection, for writes made while `redis` is in the middle of a scan. */
  let writerClient: Redis;
  let store: RegistryStore;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    writerClient = server.client();
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
    writerClient?.disconnect();
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

  it('reads the entries again when an account is replaced during the scan: one instant, no false conflict', async () => {
    // Account a moves its project to account b's new subscription: read torn, both would claim the project.
    const writer = new RegistryStore(writerClient, 'pages');
    const project = 'f'.repeat(32);
    const [old, moved] = [
      meteredEntry({ accountId: 'account-a', subscriptionId: 'subscription-old', projectId: project }),
      meteredEntry({ accountId: 'account-b', subscriptionId: 'subscription-moved', projectId: project }),
    ];
    await writer.replaceAccount('torn', 'account-a', { entries: [old], problems: [] }, await writer.now());
    for (let i = 0; i < 2500; i++)
      await writer.replaceAccount(
        'torn',
        `x${i}`,
        { entries: [entryOf(i)], problems: [] },
        await writer.now(),
      );
    const move = async () => {
      await writer.replaceAccount('torn', 'account-a', { entries: [], problems: [] }, await writer.now());
      await writer.replaceAccount(
        'torn',
        'account-b',
        { entries: [moved], problems: [] },
        await writer.now(),
      );
    };
    const watched = scanWatched(redis, move);
    const entries = await new RegistryStore(watched.client, 'pages').entries('torn');
    const onProject = entries.filter((e) => e.projectId === project);
    expect(onProject.map((e) => [e.subscriptionId, e.status])).to.deep.equal([
      ['subscription-moved', 'metered'],
    ]);
    expect(entries).to.have.length(2501);
    expect(watched.scansBegun(), 'the disturbed scan and one more').to.equal(2);
  });

  it('hands on a field Redis names twice once, and shares what entries repeat without merging what differs', async () => {
    let repeated: string[] = [];
    // Redis names a field twice only while it rehashes the hash: the second answer repeats the first's fields.
    const twice = (flat: string[], n: number) =>
      n === 1 ? ((repeated = flat), flat) : [...repeated, ...flat];
    const entries = await new RegistryStore(
      scanWatched(redis, async () => {}, twice).client,
      'pages',
    ).entries('bob');
    expect(entries.map((e) => e.subscriptionId)).to.deep.equal(
      Array.from({ length: N }, (_, i) => entryOf(i).subscriptionId),
    );
    const [vcpus, instance] = [entries[0]!, entries[1]!];
    expect(vcpus.units).to.deep.equal({ vcpus: 'openstack-billed-vcpus' });
    expect(instance.units).to.deep.equal({ instance: 'openstack-billed-instance' });
    expect(entries[3]!.units, 'one object for like units').to.equal(vcpus.units);
    expect(() => ((vcpus.units as Record<string, string>).instance = 'x')).to.throw(TypeError);
    expect(() => (vcpus.reasons as string[]).push('x')).to.throw(TypeError);
  });
});
