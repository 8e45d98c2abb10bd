import { expect } from 'chai';
import { Readable } from 'node:stream';
import { ListingSplitter, listingElements } from '../../src/clients/killbill/listing-elements.js';
import { KillBillError } from '../../src/errors/index.js';

const PAGE = [
  { accountId: 'a-1', name: 'quote " and \\\\ backslash', tags: ['[', ']', '{', '}'] },
  { accountId: 'a-2', nested: { deeper: [{ x: 1 }, [2, [3]]] }, note: 'café ☕ 日本' },
  { accountId: 'a-3', empty: {}, list: [], escaped: '\\"}]' },
];

/** The page's text cut into pieces at every `step`th character. */
function pieces(text: string, step: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += step) out.push(text.slice(i, i + step));
  return out;
}

function split(texts: string[]): unknown[] {
  const found: unknown[] = [];
  const splitter = new ListingSplitter((v) => found.push(v));
  for (const t of texts) splitter.write(t);
  splitter.end();
  return found;
}

async function collect(body: Readable, batch = 2): Promise<unknown[][]> {
  const parts: unknown[][] = [];
  for await (const part of listingElements('list accounts', body, batch)) parts.push(part);
  return parts;
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('the page was read'),
    (err: unknown) => err as KillBillError,
  );

describe('Kill Bill listing pages read as they arrive', () => {
  it('gives each object as JSON.parse gives it, however the text is cut', () => {
    for (const text of [JSON.stringify(PAGE), JSON.stringify(PAGE, null, 2)]) {
      for (const step of [1, 2, 3, 7, 64, text.length]) {
        expect(split(pieces(text, step)), `pieces of ${step}`).to.deep.equal(PAGE);
      }
    }
  });

  it('reads an empty page as no objects', () => {
    expect(split([' [ ', ' ] '])).to.deep.equal([]);
  });

  it('refuses what is not an array of objects', () => {
    for (const text of ['{"accountId":"a"}', '[1]', '[{"a":1}, "b"]', '[{"a":1}] x', 'null']) {
      expect(() => split([text]), text).to.throw(SyntaxError);
    }
    expect(() => split(['[{"a": 1,}]'])).to.throw(SyntaxError);
  });

  it('refuses a page that ends before its array does', () => {
    for (const text of ['', '[', '[{"a":1}', '[{"a":1},', '[{"a":"]}']) {
      expect(() => split([text]), text).to.throw(SyntaxError, /ended before/);
    }
  });

  it('hands on the objects in batches while the body arrives, multi-byte characters whole', async () => {
    const bytes = Buffer.from(JSON.stringify(PAGE), 'utf8');
    // One byte at a time: every multi-byte character is split between two chunks.
    const body = Readable.from(pieces(bytes.toString('latin1'), 1).map((c) => Buffer.from(c, 'latin1')));
    expect(await collect(body)).to.deep.equal([PAGE.slice(0, 2), PAGE.slice(2)]);
  });

  it('fails a body cut off mid-page as no answer (retryable), a malformed one as unreadable (not)', async () => {
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    const cut = new Readable({ read() {} });
    cut.push('[{"accountId":"a-1"},{"acc');
    setImmediate(() => cut.destroy(reset));
    const lost = await refusal(collect(cut));
    expect(lost).to.be.instanceOf(KillBillError);
    expect([lost.retryable, lost.noAnswer]).to.deep.equal([true, 'ECONNRESET']);

    const ended = await refusal(collect(Readable.from(['[{"accountId":"a-1"}'])));
    expect([ended.retryable, ended.status]).to.deep.equal([false, 200]);
    expect(ended.message).to.match(/list accounts failed: unreadable answer: .*ended before/);

    const malformed = await refusal(collect(Readable.from(['[{"accountId":}]'])));
    expect(malformed.retryable).to.equal(false);
    expect(malformed.message).to.match(/unreadable answer/);
  });
});
