import { expect } from 'chai';
import { PassThrough, Writable } from 'node:stream';
import { jsonPieces, writeJsonDocument } from '../../src/app/json-document.js';

/** A report shaped like `bridge sync --json`'s, with what JSON.stringify treats specially. */
const report = (n: number) => ({
  metered: n,
  skipped: undefined,
  at: new Date('2026-12-02T05:00:00Z'),
  totals: { records: n, failed: 1, nested: { empty: {}, none: [] } },
  results: Array.from({ length: n }, (_, i) => ({
    subscriptionId: `sub-${i}`,
    records: i % 3,
    error: i === 1 ? 'Kill Bill said "no"\nthen hung up' : undefined,
    through: new Date(Date.UTC(2026, 11, 2, i % 24)),
  })),
  idle: [],
  unattributed: [undefined, () => 1, 'p1'],
  callback: () => 'not data',
});

/** Collects what is written, saying no to every write so the writer must wait for 'drain'. */
class SlowSink extends Writable {
  text = '';
  writes = 0;
  constructor() {
    super({ highWaterMark: 1, decodeStrings: false });
  }
  override _write(chunk: string, _enc: string, done: () => void) {
    this.text += chunk;
    this.writes++;
    setImmediate(done);
  }
}

describe('a JSON document written in pieces', () => {
  it('is exactly the text of JSON.stringify(doc, null, 2), special values included', () => {
    const unusual = {
      map: new Map([['a', 1]]),
      boxed: [new String('s'), new Number(2)],
      bare: Object.create(null),
    };
    for (const doc of [
      report(0),
      report(1),
      report(5),
      [],
      {},
      'text',
      12,
      null,
      [[1, [2]], { a: [] }],
      unusual,
    ])
      expect([...jsonPieces(doc)].join('')).to.equal(JSON.stringify(doc, null, 2));
  });

  it('writes a large report in many chunks, waiting for a full stream to drain, ending with a newline', async () => {
    const doc = report(20_000);
    const sink = new SlowSink();
    await writeJsonDocument(sink, doc);
    expect(sink.text).to.equal(`${JSON.stringify(doc, null, 2)}\n`);
    expect(sink.writes).to.be.greaterThan(10);
  });

  it('fails, not hangs, when the stream closes without an error, or was closed before', async () => {
    const closing = new PassThrough({ highWaterMark: 1 });
    const written = writeJsonDocument(closing, report(20_000));
    closing.destroy();
    let failure: unknown;
    await written.catch((err: unknown) => (failure = err));
    expect((failure as Error)?.message).to.equal('the output closed before the document was written');
    failure = undefined;
    await writeJsonDocument(closing, report(20_000)).catch((err: unknown) => (failure = err));
    expect((failure as Error)?.message).to.match(/closed|destroyed/);
  });

  it('fails, not hangs, when the stream it waits on breaks', async () => {
    const out = new PassThrough({ highWaterMark: 1 });
    const written = writeJsonDocument(out, report(20_000));
    out.destroy(new Error('EPIPE: the reader went away'));
    let failure: unknown;
    await written.catch((err: unknown) => (failure = err));
    expect((failure as Error)?.message).to.equal('EPIPE: the reader went away');
  });
});
