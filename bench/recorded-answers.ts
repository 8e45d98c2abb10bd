import { readFileSync } from 'node:fs';
import type { RecordedExchange } from './record-killbill-answers.js';

/**
 * The answers bench/record-killbill-answers.ts recorded from the real Kill Bill, turned into a tenant of any
 * size: every account, bundle (with its subscription) and custom field is the recorded first account's, its
 * ids replaced by ones derived from its index, rendered only when a page asks for it.
 */
const DIR = new URL('./killbill-answers/', import.meta.url);
/** A Kill Bill id. */
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export const answersOf = (file: string): RecordedExchange[] =>
  JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as RecordedExchange[];

interface RecordedSetUp {
  killBillVersion: string;
  setUp: {
    startDay: string;
    accounts: Array<{ accountId: string; subscriptionId: string; projectId: string }>;
  };
}

export const recordedIndex = (): RecordedSetUp =>
  JSON.parse(readFileSync(new URL('index.json', DIR), 'utf8')) as RecordedSetUp;

/**
 * A Keystone project id (32 hex digits) per account index: the bench seeds CloudKitty with the same ones.
 * The fixed head keeps them apart from the random ones tests use in the shared CloudKitty.
 */
export const projectIdOf = (i: number): string => `5ca1ed00${i.toString(16).padStart(24, '0')}`;

/**
 * An id per recorded id (its slot, in the order first met) and index. The index sits in the last 12 hex
 * digits, so an id the bridge sends back is mapped to its account without a table of 100,000 entries.
 */
export const idOf = (slot: number, i: number): string =>
  `${(0xb111_0000 + slot).toString(16)}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** The index of an id {@link idOf} made in `slot`, or undefined for any other id. */
export function indexOf(id: string, slot: number): number | undefined {
  const head = `${(0xb111_0000 + slot).toString(16)}-0000-4000-8000-`;
  if (id.length !== 36 || !id.startsWith(head)) return undefined;
  const i = Number.parseInt(id.slice(head.length), 16);
  return Number.isSafeInteger(i) ? i : undefined;
}

type Hole = { slot: number } | 'project' | 'name';

/** The recorded first account's name, as bench/sync.ts names its accounts (`bench0-…` its external key). */
const RECORDED_NAME = 'bench0';

/** One recorded object as text with holes where its per-account values go. */
class Template {
  private readonly literals: string[] = [];
  private readonly holes: Hole[] = [];

  constructor(json: string, slots: Map<string, number>, project: string) {
    const pattern = new RegExp(`${UUID.source}|${project}|"${RECORDED_NAME}(?=[-"])`, 'g');
    let last = 0;
    for (const m of json.matchAll(pattern)) {
      this.literals.push(json.slice(last, m.index));
      last = m.index + m[0].length;
      if (m[0] === project) this.holes.push('project');
      else if (m[0].startsWith('"')) this.holes.push('name');
      else {
        if (!slots.has(m[0])) slots.set(m[0], slots.size);
        this.holes.push({ slot: slots.get(m[0])! });
      }
    }
    this.literals.push(json.slice(last));
  }

  render(i: number): string {
    let out = this.literals[0]!;
    this.holes.forEach((hole, h) => {
      const value = hole === 'project' ? projectIdOf(i) : hole === 'name' ? `"bench${i}` : idOf(hole.slot, i);
      out += value + this.literals[h + 1]!;
    });
    return out;
  }
}

/** The recorded answer to a listing's first page of several: its headers name the next one. */
const pagedAnswer = (file: string): RecordedExchange => {
  const paged = answersOf(file).find((e) => e.headers['x-killbill-pagination-nextoffset'] !== undefined);
  if (!paged) throw new Error(`${file} holds no page that names a next one`);
  return paged;
};

/**
 * A page's headers as Kill Bill writes them (contract §1.3): the recorded headers, in their order, with this
 * page's numbers; the next offset and page URI left out on the last page, as Kill Bill leaves them out.
 */
function pageHeaders(recorded: Record<string, string>, offset: number, limit: number, total: number) {
  const last = offset + limit >= total;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(recorded)) {
    const field = name.replace('x-killbill-pagination-', '');
    if (last && (field === 'nextoffset' || field === 'nextpageuri')) continue;
    headers[name] =
      field === 'currentoffset'
        ? String(offset)
        : field === 'nextoffset'
          ? String(offset + limit)
          : field === 'totalnbrecords' || field === 'maxnbrecords'
            ? String(total)
            : field === 'nextpageuri'
              ? value.replace(/offset=\d+&limit=\d+/, `offset=${offset + limit}&limit=${limit}`)
              : value;
  }
  return headers;
}

export interface Page {
  headers: Record<string, string>;
  body: string;
}

/**
 * The recorded tenant at N accounts. The recorded start day (a 0.22 LocalDate) becomes `start` as the
 * DateTime 0.24 writes there (contract §4.3), and the billing cycle day and reference time follow it, as
 * Kill Bill sets them for an account whose subscription starts then.
 */
export class RecordedTenant {
  readonly slots = new Map<string, number>();
  private readonly account: Template;
  private readonly bundle: Template;
  private readonly fields: Template[];
  private readonly paged: Record<'accounts' | 'bundles' | 'customFields', RecordedExchange>;
  readonly subscriptionSlot: number;

  constructor(
    readonly accounts: number,
    start: Date,
  ) {
    const { setUp } = recordedIndex();
    const first = setUp.accounts[0]!;
    const day = start.getUTCDate();
    const dated = (o: unknown) =>
      JSON.stringify(o)
        .replaceAll(`"${setUp.startDay}"`, `"${start.toISOString()}"`)
        .replace(/"billCycleDayLocal":\d+/g, `"billCycleDayLocal":${day}`)
        .replace(/"referenceTime":"[^"]*"/, `"referenceTime":"${start.toISOString()}"`);
    const listed = (file: string) =>
      answersOf(file).find((e) => !e.headers['x-killbill-pagination-nextoffset'])!;
    const ofFirst = (rows: unknown) =>
      (rows as Array<{ accountId?: string; objectId?: string }>).filter(
        (r) => (r.accountId ?? r.objectId) === first.accountId,
      );
    const template = (o: unknown) => new Template(dated(o), this.slots, first.projectId);
    this.account = template(ofFirst(listed('get-accounts-pagination.json').body)[0]);
    this.bundle = template(ofFirst(listed('get-bundles-pagination.json').body)[0]);
    this.fields = ofFirst(listed('get-customfields-pagination.json').body).map(template);
    const slot = this.slots.get(first.subscriptionId);
    if (slot === undefined) throw new Error('the recorded bundles hold no subscription of the first account');
    this.subscriptionSlot = slot;
    this.paged = {
      accounts: pagedAnswer('get-accounts-pagination.json'),
      bundles: pagedAnswer('get-bundles-pagination.json'),
      customFields: pagedAnswer('get-customfields-pagination.json'),
    };
  }

  /** The index of a subscription id this tenant gave out, or undefined. */
  subscriptionIndex(id: string): number | undefined {
    const i = indexOf(id, this.subscriptionSlot);
    return i !== undefined && i < this.accounts ? i : undefined;
  }

  /** One page of a listing, rendered now: nothing of it is kept. */
  page(listing: 'accounts' | 'bundles' | 'customFields', offset: number, limit: number): Page {
    const perAccount = listing === 'customFields' ? this.fields.length : 1;
    const total = this.accounts * perAccount;
    const rows: string[] = [];
    for (let row = offset; row < Math.min(total, offset + limit); row++) {
      const i = Math.floor(row / perAccount);
      const t =
        listing === 'accounts'
          ? this.account
          : listing === 'bundles'
            ? this.bundle
            : this.fields[row % perAccount]!;
      rows.push(t.render(i));
    }
    const headers = pageHeaders(this.paged[listing].headers, offset, limit, total);
    return { headers, body: `[${rows.join(',')}]` };
  }
}
