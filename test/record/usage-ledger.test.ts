import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { UsageLedger, type LedgerWindow } from '../../src/record/usage-ledger.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const window = (cents: number): LedgerWindow => ({
  end: '2025-01-01T01:00:00.000Z',
  rates: { instance: '0.01' },
  cents: { 'openstack-billed-instance': cents },
  lastRevision: 0,
});
const START = '2025-01-01T00:00:00.000Z';

/** The ledger's lock and its one-call commit, on a real Redis. */
describe('usage ledger: a lock read with its ledger, and writes only while it is held', () => {
  let server: RedisServer;
  let redis: Redis;
  let ledger: UsageLedger;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    ledger = new UsageLedger(redis, 'osb');
  });
  after(async () => {
    redis?.disconnect();
    await server?.close();
  });

  it('reads the ledger with the lock, commits windows and the watermark, and gives the lock up', async () => {
    const first = (await ledger.lockAndRead('bob', 's1', 10_000))!;
    expect(first.windows.size).to.equal(0);
    expect(await first.lock.commit(new Map([[START, window(3)]]), { watermark: '2025-01-01T01:00:00.000Z' }))
      .to.be.true;
    expect(await redis.exists(ledger.lockKey('bob', 's1')), 'still held without release').to.equal(1);
    expect(await first.lock.commit(new Map(), { watermark: '2025-01-01T02:00:00.000Z', release: true })).to.be
      .true;
    expect(await redis.exists(ledger.lockKey('bob', 's1')), 'released').to.equal(0);

    const second = (await ledger.lockAndRead('bob', 's1', 10_000))!;
    expect(Object.fromEntries(second.windows)).to.deep.equal({ [START]: window(3) });
    expect(await ledger.watermark('bob', 's1')).to.equal('2025-01-01T02:00:00.000Z');
    // The watermark never moves back, whoever commits later.
    expect(await second.lock.commit(new Map(), { watermark: '2025-01-01T00:00:00.000Z', release: true })).to
      .be.true;
    expect(await ledger.watermark('bob', 's1')).to.equal('2025-01-01T02:00:00.000Z');
  });

  it('a run whose lock lapsed and was taken saves and commits nothing, and cannot release the new holder’s lock', async () => {
    const stale = (await ledger.lockAndRead('bob', 's2', 100))!;
    await waitFor('the lock lapsed', async () => (await redis.exists(ledger.lockKey('bob', 's2'))) === 0);
    const current = (await ledger.lockAndRead('bob', 's2', 10_000))!;
    expect(await stale.lock.save(new Map([[START, window(8)]]))).to.be.false;
    expect(await stale.lock.commit(new Map([[START, window(9)]]), { watermark: '2030-01-01T00:00:00.000Z' }))
      .to.be.false;
    await stale.lock.release();
    expect(await redis.hgetall('osb:ledger:bob:s2'), 'no window written').to.deep.equal({});
    expect(await ledger.watermark('bob', 's2'), 'no watermark moved').to.equal(null);
    expect(await redis.exists(ledger.lockKey('bob', 's2')), 'the new holder keeps its lock').to.equal(1);
    expect(await ledger.lockAndRead('bob', 's2', 10_000, 0), 'busy').to.equal(null);
    await current.lock.release();
  });

  it('a run that ended settled lets the next one from there read only the windows it names', async () => {
    const [w1, w2, w3] = ['2025-01-01T00:00:00.000Z', '2025-01-01T01:00:00.000Z', '2025-01-01T02:00:00.000Z'];
    const run = (await ledger.lockAndRead('bob', 's3', 10_000))!;
    const planned = new Map([
      [w1, window(1)],
      [w2, window(2)],
    ]);
    expect(await run.lock.save(planned)).to.be.true;
    expect(await run.lock.commit(new Map(), { watermark: w3, release: true })).to.be.true;

    const lean = { from: w3, starts: [w2, w3] };
    const next = (await ledger.lockAndRead('bob', 's3', 10_000, 0, lean))!;
    expect(next.whole).to.equal(false);
    expect(Object.fromEntries(next.windows), 'w2 only: w1 not asked, w3 not there').to.deep.equal({
      [w2]: window(2),
    });
    await next.lock.release();

    const elsewhere = (await ledger.lockAndRead('bob', 's3', 10_000, 0, { from: w2, starts: [w2] }))!;
    expect(elsewhere.whole, 'settled at another watermark: the whole ledger').to.equal(true);
    expect(elsewhere.windows.size).to.equal(2);
    await elsewhere.lock.release();
  });

  it('writing windows unsettles the ledger until a run ends; a lost lock never settles it', async () => {
    const [w1, w2] = ['2025-01-01T00:00:00.000Z', '2025-01-01T01:00:00.000Z'];
    const lean = { from: w2, starts: [w1] };
    const first = (await ledger.lockAndRead('bob', 's4', 10_000))!;
    expect(await first.lock.commit(new Map(), { watermark: w2, release: true })).to.be.true;
    expect((await ledger.lockAndRead('bob', 's4', 10_000, 0, lean))!.whole, 'settled').to.equal(false);
    await redis.del(ledger.lockKey('bob', 's4'));

    // An interrupted run: its window written as pending, nothing more.
    const pending = { ...window(5), pending: { revision: 0, cents: {}, record: null } };
    const crashed = (await ledger.lockAndRead('bob', 's4', 100, 0, lean))!;
    expect(await crashed.lock.save(new Map([[w1, pending]]))).to.be.true;
    await waitFor('the lock lapsed', async () => (await redis.exists(ledger.lockKey('bob', 's4'))) === 0);
    const after = (await ledger.lockAndRead('bob', 's4', 10_000, 0, lean))!;
    expect(after.whole, 'the pending window is read with the whole ledger').to.equal(true);
    expect(after.windows.get(w1)?.pending).to.deep.equal(pending.pending);
    // The crashed run's late end changes nothing: its lock is gone.
    expect(await crashed.lock.commit(new Map(), { watermark: w2, release: true })).to.be.false;
    expect(await after.lock.commit(new Map([[w1, window(5)]]), { watermark: w2, release: true })).to.be.true;
    const settled = (await ledger.lockAndRead('bob', 's4', 10_000, 0, lean))!;
    expect(settled.whole).to.equal(false);
    expect(Object.fromEntries(settled.windows)).to.deep.equal({ [w1]: window(5) });
    await settled.lock.release();
  });

  it('saves a month of 5-minute windows at once (more values than Lua unpacks in one call)', async () => {
    const month = new Map<string, LedgerWindow>();
    for (let k = 0; k < 8_928; k++)
      month.set(new Date(Date.UTC(2025, 0, 1) + k * 300_000).toISOString(), window(k));
    const run = (await ledger.lockAndRead('bob', 'month', 10_000))!;
    expect(await run.lock.save(month)).to.be.true;
    await run.lock.release();
    const read = await ledger.windows('bob', 'month');
    expect(read.size).to.equal(8_928);
    expect(read.get(new Date(Date.UTC(2025, 0, 31, 23, 55)).toISOString())?.cents).to.deep.equal({
      'openstack-billed-instance': 8_927,
    });
  });
});
