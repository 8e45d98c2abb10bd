import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../../src/jobs/redis-connection.js';
import { RedisScripts } from '../../src/jobs/redis-scripts.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { SyncFreshness } from '../../src/sync/sync-freshness.js';
import { meteredEntry } from '../support/metered-entry.js';
import { commandCalls, RedisServer } from '../support/redis-server.js';

/** The error `p` fails with; fails the test when it does not. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

/** Lua scripts sent whole once, then by SHA1, against a real Redis (INFO commandstats counts what ran). */
describe('redis scripts: a script goes whole once, then by its SHA1', () => {
  let server: RedisServer;
  let redis: Redis;
  let observer: Redis;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    observer = server.client();
    await Promise.all([redis.ping(), observer.ping()]);
  });
  after(async () => {
    redis?.disconnect();
    observer?.disconnect();
    await server?.close();
  });

  it("the registry's account replacements and the sync's freshness marks go by SHA1 after their first", async () => {
    const store = new RegistryStore(redis, 'scripts');
    const freshness = new SyncFreshness(redis, 'scripts');
    const [evals, shas] = [await commandCalls(observer, 'eval'), await commandCalls(observer, 'evalsha')];
    const now = await store.now();
    for (const i of [1, 2, 3]) {
      const [a, s] = [`a${i}`, `${i}${i}${i}${i}${i}${i}${i}${i}-sub`];
      expect(
        await store.replaceAccount(
          'bob',
          a,
          { entries: [meteredEntry({ accountId: a, subscriptionId: s })], problems: [] },
          now,
        ),
      ).to.equal(true);
      await freshness.due('bob', [s], new Date(now + i));
      await freshness.done('bob', s, new Date(now + i));
    }
    expect((await store.entries('bob')).map((e) => e.accountId)).to.deep.equal(['a1', 'a2', 'a3']);
    expect((await freshness.lastSuccess(['bob'])).get('bob')).to.deep.equal(new Date(now + 3));
    expect((await commandCalls(observer, 'eval')) - evals, 'three scripts, each sent whole once').to.equal(3);
    expect((await commandCalls(observer, 'evalsha')) - shas, 'the other six by SHA1').to.equal(6);
  });

  it('sends a script whole again to a Redis that has forgotten it, and still answers each call', async () => {
    const scripts = new RedisScripts(redis);
    const script = `return 'again-' .. ARGV[1]`;
    expect(await scripts.run(script, [], ['a'])).to.equal('again-a');
    await observer.script('FLUSH');
    const evals = await commandCalls(observer, 'eval');
    const answers = await Promise.all([scripts.run(script, [], ['b']), scripts.run(script, [], ['c'])]);
    expect(answers).to.deep.equal(['again-b', 'again-c']);
    expect((await commandCalls(observer, 'eval')) - evals, 'each call refused NOSCRIPT sent whole').to.equal(
      2,
    );
    expect(await scripts.run(script, [], ['d'])).to.equal('again-d');
  });

  it('does not send again a script Redis ran and refused: only NOSCRIPT is sent whole again', async () => {
    const scripts = new RedisScripts(redis);
    const refuse = `return redis.error_reply('refused again ' .. ARGV[1])`;
    expect((await rejection(scripts.run(refuse, [], ['1']))).message).to.match(/refused again 1/);
    const [evals, shas] = [await commandCalls(observer, 'eval'), await commandCalls(observer, 'evalsha')];
    expect((await rejection(scripts.run(refuse, [], ['2']))).message).to.match(/refused again 2/);
    expect((await commandCalls(observer, 'evalsha')) - shas, 'named by its SHA1').to.equal(1);
    expect((await commandCalls(observer, 'eval')) - evals, 'not sent whole again').to.equal(0);
  });

  it('sends a script whole again when its first whole send never reached Redis', async () => {
    const server2 = await RedisServer.start();
    const client = createRedisConnection(server2.url, 'producer');
    const watcher = server2.client();
    await new Promise((r) => client.once('ready', r));
    const scripts = new RedisScripts(client);
    const script = `return 'lost-' .. ARGV[1]`;
    // The connection drops before the first whole send: it fails, and Redis never saw the script.
    const closed = new Promise((r) => client.once('close', r));
    (client as Redis).stream.destroy();
    await closed;
    const back = new Promise((r) => client.once('ready', r));
    expect(await rejection(scripts.run(script, [], ['a']))).to.be.instanceOf(Error);
    await back;
    const shas = await commandCalls(watcher, 'evalsha');
    expect(await scripts.run(script, [], ['b'])).to.equal('lost-b');
    expect((await commandCalls(watcher, 'evalsha')) - shas, 'no EVALSHA refused NOSCRIPT first').to.equal(0);
    client.disconnect();
    watcher.disconnect();
    await server2.close();
  });
});
