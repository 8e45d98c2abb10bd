import { expect } from 'chai';
import { KillBillSlots } from '../../src/record/kill-bill-slots.js';

/** A call that ends when the test says so. */
function heldCall(log: string[], name: string) {
  let end!: () => void;
  let fail!: (err: Error) => void;
  const ended = new Promise<string>((resolve, reject) => {
    end = () => resolve(name);
    fail = reject;
  });
  return {
    call: () => {
      log.push(name);
      return ended;
    },
    end,
    fail,
  };
}

const turn = () => new Promise((r) => setImmediate(r));

/** The bound on a sync's Kill Bill calls: no more than `size` at once, the next in the order they asked. */
describe('Kill Bill slots: at most N calls at once, first come first served', () => {
  it('starts `size` calls, then each next one as an earlier one settles, in order', async () => {
    const slots = new KillBillSlots(2);
    const started: string[] = [];
    const calls = ['a', 'b', 'c', 'd'].map((name) => heldCall(started, name));
    const outcomes = Promise.allSettled(calls.map((c) => slots.run(c.call)));
    await turn();
    expect(started).to.deep.equal(['a', 'b']);
    calls[1]!.end();
    await turn();
    expect(started).to.deep.equal(['a', 'b', 'c']);
    calls[0]!.fail(new Error('Kill Bill said no'));
    await turn();
    expect(started, 'a failed call frees its slot too').to.deep.equal(['a', 'b', 'c', 'd']);
    calls[2]!.end();
    calls[3]!.end();
    expect((await outcomes).map((o) => (o.status === 'fulfilled' ? o.value : 'failed'))).to.deep.equal([
      'failed',
      'b',
      'c',
      'd',
    ]);
  });

  it('frees every slot once the calls are done: the next `size` start at once', async () => {
    const slots = new KillBillSlots(3);
    await Promise.all([1, 2, 3, 4, 5].map((n) => slots.run(async () => n)));
    const started: string[] = [];
    const calls = ['x', 'y', 'z'].map((name) => heldCall(started, name));
    const running = calls.map((c) => slots.run(c.call));
    await turn();
    expect(started).to.deep.equal(['x', 'y', 'z']);
    calls.forEach((c) => c.end());
    await Promise.all(running);
  });
});
