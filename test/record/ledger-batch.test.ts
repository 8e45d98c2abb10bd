import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { createRedisConnection } from '../../src/jobs/redis-connection.js';
import { LedgerBatch } from '../../src/record/ledger-batch.js';
import { commandCalls, readsProcessed, RedisServer } from '../support/redis-server.js';

const ECHO = `return ARGV[1]`;
const REFUSE = `return redis.error_reply('refused ' .. ARGV[1])`;

/** Whether `p` has settled, once every callback already due has run (two turns: timers, then immediates). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
  return done;
}

/** The ledger's calls of subscriptions side by side, sent to a real Redis together. */
describe('ledger batch: ledger calls of runs side by side share one write to Redis', () => {
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

  it('sends the calls of one turn in one write, each answered on its own', async () => {
    const batch = new LedgerBatch(redis);
    const before = await readsProcessed(observer);
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => batch.eval(ECHO, [], [`s${i}`])));
    const reads = (await readsProcessed(observer)) - before;
    expect(answers).to.deep.equal(Array.from({ length: 16 }, (_, i) => `s${i}`));
    // Two of the reads are the observer's own INFO commands.
    expect(reads, 'reads Redis processed for 16 calls in one turn').to.be.at.most(3);

    const alone = await readsProcessed(observer);
    for (let i = 0; i < 16; i++) await batch.eval(ECHO, [], [`t${i}`]);
    expect((await readsProcessed(observer)) - alone, 'one call a turn, one read each').to.be.at.least(16);
  });

  it('fails a refused call alone: the others in its batch are answered', async () => {
    const batch = new LedgerBatch(redis);
    const calls = [batch.eval(ECHO, [], ['a']), batch.eval(REFUSE, [], ['b']), batch.eval(ECHO, [], ['c'])];
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).to.match(/refused b/);
    expect((outcomes[2] as PromiseFulfilledResult<unknown>).value).to.equal('c');
  });

  it('holds a lingering call until every joined run waits, then sends them together', async () => {
    const batch = new LedgerBatch(redis, { lingerMs: 10 * 60_000 });
    const [leaveA, leaveB, leaveC] = [batch.join(), batch.join(), batch.join()];
    const a = batch.eval(ECHO, [], ['a'], true);
    const b = batch.eval(ECHO, [], ['b'], true);
    // A ping on the batch's own connection after the turn ends: Redis answers in order, so a call sent in that
    // turn would be answered before it.
    await new Promise((r) => setImmediate(r));
    await redis.ping();
    expect(await settled(a), 'two of three joined runs wait: the batch lingers').to.be.false;
    const before = await readsProcessed(observer);
    const c = batch.eval(ECHO, [], ['c'], true);
    expect(await Promise.all([a, b, c])).to.deep.equal(['a', 'b', 'c']);
    expect((await readsProcessed(observer)) - before, 'one write for the three').to.be.at.most(2);
    [leaveA, leaveB, leaveC].forEach((leave) => leave());
  });

  it('sends a lingering batch once a run leaves and the rest all wait', async () => {
    const batch = new LedgerBatch(redis, { lingerMs: 10 * 60_000 });
    const [leaveA, leaveB] = [batch.join(), batch.join()];
    const a = batch.eval(ECHO, [], ['a'], true);
    await new Promise((r) => setImmediate(r));
    await redis.ping();
    expect(await settled(a)).to.be.false;
    leaveB();
    leaveB(); // twice is harmless: it counts once
    expect(await a).to.equal('a');
    leaveA();
  });

  it('sends a lingering call after the linger when others keep it waiting', async () => {
    const batch = new LedgerBatch(redis, { lingerMs: 50 });
    const leave = [batch.join(), batch.join()];
    expect(await batch.eval(ECHO, [], ['late'], true)).to.equal('late');
    leave.forEach((l) => l());
  });

  it('does not hold a lingering call when no run joined: nothing could share its write', async () => {
    const batch = new LedgerBatch(redis, { lingerMs: 10 * 60_000 });
    expect(await batch.eval(ECHO, [], ['now'], true)).to.equal('now');
  });

  it('sends a full batch at the end of the turn however many joined runs still work', async () => {
    const batch = new LedgerBatch(redis, { lingerMs: 10 * 60_000, maxBatch: 4 });
    const leave = Array.from({ length: 8 }, () => batch.join());
    const calls = Array.from({ length: 4 }, (_, i) => batch.eval(ECHO, [], [`f${i}`], true));
    expect(await Promise.all(calls)).to.deep.equal(['f0', 'f1', 'f2', 'f3']);
    leave.forEach((l) => l());
  });

  it("sends a script's text once, then only its SHA1", async () => {
    const batch = new LedgerBatch(redis);
    // A script of its own: another test's batch may have sent ECHO's text already.
    const script = `return 'sha-' .. ARGV[1]`;
    const [evals, shas] = [await commandCalls(observer, 'eval'), await commandCalls(observer, 'evalsha')];
    const first = await Promise.all(Array.from({ length: 4 }, (_, i) => batch.eval(script, [], [`${i}`])));
    const second = await Promise.all(Array.from({ length: 4 }, (_, i) => batch.eval(script, [], [`${i}`])));
    expect([...first, ...second]).to.deep.equal([
      'sha-0',
      'sha-1',
      'sha-2',
      'sha-3',
      'sha-0',
      'sha-1',
      'sha-2',
      'sha-3',
    ]);
    expect((await commandCalls(observer, 'eval')) - evals, 'scripts sent whole').to.equal(1);
    expect((await commandCalls(observer, 'evalsha')) - shas, 'scripts named by SHA1').to.equal(7);
  });

  it('fails every call of a batch whose connection fails', async () => {
    const dead = await RedisServer.start();
    const client = createRedisConnection(dead.url, 'producer');
    await new Promise((r) => client.once('ready', r));
    const closed = new Promise((r) => client.once('close', r));
    await dead.close();
    await closed;
    const batch = new LedgerBatch(client);
    const outcomes = await Promise.allSettled([batch.eval(ECHO, [], ['x']), batch.eval(ECHO, [], ['y'])]);
    client.disconnect();
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'rejected']);
  });
});
