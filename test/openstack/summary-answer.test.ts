import { expect } from 'chai';
import { readSummaryAnswer } from '../../src/clients/openstack/summary-answer.js';
import type { SummaryRow } from '../../src/clients/openstack/index.js';

const GROUPBY = ['time', 'project_id', 'type'] as const;
type Key = (typeof GROUPBY)[number];
const COLUMNS = ['begin', 'end', 'qty', 'rate', 'project_id', 'type'];
const HOUR = ['2024-01-01T00:00:00+00:00', '2024-01-01T01:00:00+00:00'];
/** Tag values JSON must escape or that look like structure, and text of more than one UTF-8 byte. */
const ROWS = [
  [...HOUR, 2.0, 0.1, 'proj-a', 'instance'],
  [...HOUR, null, null, 'proj-[b]', 'vcpus'],
  [...HOUR, 1.5, 0.24000000000000002, 'proj-"c"\\', 'ünïcödé ✓ 𝄞'],
  [...HOUR, 3, 1e-7, '{"d":[1]}', ','],
];

/** The body cut into pieces of `size` bytes, so pieces split escapes, brackets and UTF-8 sequences. */
async function* pieces(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

const asText = (r: SummaryRow<Key>) =>
  `${r.begin.toISOString()}/${r.project_id}/${r.type}/${r.qty ?? '-'}/${r.rate ?? '-'}`;

describe('a summary answer read as it arrives, row by row', () => {
  const body = JSON.stringify({ total: ROWS.length, columns: COLUMNS, results: ROWS, format: 'table' });
  const expected = [
    '2024-01-01T00:00:00.000Z/proj-a/instance/2/0.1',
    '2024-01-01T00:00:00.000Z/proj-[b]/vcpus/-/-',
    '2024-01-01T00:00:00.000Z/proj-"c"\\/ünïcödé ✓ 𝄞/1.5/0.24000000000000002',
    '2024-01-01T00:00:00.000Z/{"d":[1]}/,/3/1e-7',
  ];

  it('reads the same rows however the body is cut into pieces', async () => {
    for (let size = 1; size <= body.length; size += size < 40 ? 1 : 37) {
      const answer = await readSummaryAnswer(pieces(body, size), GROUPBY, 100, asText);
      expect(answer, `pieces of ${size} bytes`).to.deep.equal({ total: 4, received: 4, rows: expected });
    }
  });

  it('keeps only what `keep` returns, and still counts every row received', async () => {
    const rated = (r: SummaryRow<Key>) => (r.rate === null ? undefined : r.project_id);
    const answer = await readSummaryAnswer(pieces(body, 16), GROUPBY, 100, rated);
    expect(answer).to.deep.equal({ total: 4, received: 4, rows: ['proj-a', 'proj-"c"\\', '{"d":[1]}'] });
  });

  it('reads rows that come before their columns (JSON does not promise CloudKitty’s key order)', async () => {
    const reordered = `{"results": ${JSON.stringify(ROWS)}, "total": 4, "columns": ${JSON.stringify(COLUMNS)}}`;
    const answer = await readSummaryAnswer(pieces(reordered, 7), GROUPBY, 100, asText);
    expect(answer).to.deep.equal({ total: 4, received: 4, rows: expected });
  });

  it('stops at the rows of an answer whose total is already over the limit: it is asked again whole', async () => {
    const cut = JSON.stringify({ total: 9, columns: COLUMNS, results: ROWS.slice(0, 2) });
    let seen = 0;
    const answer = await readSummaryAnswer(pieces(cut, 8), GROUPBY, 2, (r) => (seen++, r));
    expect(answer).to.deep.equal({ total: 9, received: 0, rows: [] });
    expect(seen).to.equal(0);
  });

  it('reads an answer whose total comes after its rows to the end, and says it was cut at the limit', async () => {
    const late = `{"columns": ${JSON.stringify(COLUMNS)}, "results": ${JSON.stringify(ROWS)}, "total": 9}`;
    const answer = await readSummaryAnswer(pieces(late, 9), GROUPBY, 4, asText);
    expect(answer).to.deep.equal({ total: 9, received: 4, rows: expected });
  });

  it('throws for a body that ended inside its JSON, so the call is retried like a broken connection', async () => {
    for (const cut of [30, body.length >> 1, body.length - 1]) {
      const error = await readSummaryAnswer(pieces(body.slice(0, cut), 13), GROUPBY, 100, asText).catch(
        (e: unknown) => e,
      );
      expect(error, `cut at ${cut}`)
        .to.be.instanceOf(Error)
        .with.property('message')
        .that.matches(/ended before/);
    }
  });

  it('an empty answer needs no columns', async () => {
    const answer = await readSummaryAnswer(pieces('{"total": 0, "results": []}', 5), GROUPBY, 100, asText);
    expect(answer).to.deep.equal({ total: 0, received: 0, rows: [] });
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['no total', JSON.stringify({ columns: COLUMNS, results: ROWS }), /no numeric total/],
    [
      'a missing column',
      JSON.stringify({ total: 4, columns: COLUMNS.slice(0, 5), results: ROWS }),
      /lacks column type/,
    ],
    [
      'a row that is not an array',
      JSON.stringify({ total: 1, columns: COLUMNS, results: [{ a: 1 }] }),
      /not a row array/,
    ],
    [
      'a time without offset',
      JSON.stringify({
        total: 1,
        columns: COLUMNS,
        results: [['2024-01-01T00:00:00', ...ROWS[0]!.slice(1)]],
      }),
      /without offset/,
    ],
    [
      'a text rate',
      JSON.stringify({ total: 1, columns: COLUMNS, results: [[...HOUR, 1, 'abc', 'p', 't']] }),
      /non-numeric/,
    ],
    [
      'a broken row',
      `{"total": 1, "columns": ${JSON.stringify(COLUMNS)}, "results": [[1, 2,, 3]]}`,
      /not JSON/,
    ],
    [
      'a row that is a bare value',
      JSON.stringify({ total: 2, columns: COLUMNS, results: [ROWS[0], null] }),
      /not a row array/,
    ],
  ];
  for (const [what, text, reason] of malformed) {
    it(`says what is wrong with ${what}, instead of rows`, async () => {
      const answer = await readSummaryAnswer(pieces(text, 11), GROUPBY, 100, asText);
      expect(answer).to.have.property('problem').that.matches(reason);
    });
  }
});
