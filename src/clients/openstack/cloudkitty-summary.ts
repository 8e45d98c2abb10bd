import { formatCloudKittyTime, parseCloudKittyTime } from './cloudkitty-time.js';

/**
 * Summary filters, key → accepted values, e.g. `{ type: ['instance', 'vcpus'] }` or
 * `{ project_id: ['p1'] }`. Required and never empty: CloudKitty 17.0.0 keeps the filters of an
 * unfiltered call in a shared default dict, so a project member's call would silently narrow every
 * later unfiltered call, admin ones included (fixed upstream only in 24.0.0).
 */
export type SummaryFilters = Readonly<Record<string, readonly string[]>>;

/** Keys CloudKitty uses for the row itself; a groupby key by one of these names would be ambiguous. */
type RowField = 'begin' | 'end' | 'qty' | 'rate';

export interface SummaryQuery<K extends string> {
  /** Start of the window, inclusive. */
  begin: Date;
  /** End of the window, exclusive. */
  end: Date;
  /** Tags to group by, e.g. `['project_id', 'type']`; `time` splits rows per collect period. */
  groupby: readonly K[];
  filters: SummaryFilters;
  /** Rows asked in the first request (a larger result is asked again whole). Default: the client's page size. */
  limit?: number;
}

/**
 * One summary row. `qty` and `rate` are CloudKitty's float sums as exact text (`String(n)`, e.g.
 * `0.24000000000000002`), for a decimal type to round; null where a period had no data (groupby time).
 */
export type SummaryRow<K extends string> = {
  begin: Date;
  end: Date;
  qty: string | null;
  rate: string | null;
} & { [P in Exclude<K, 'time' | RowField>]: string };

const DECIMAL_TEXT = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** The query string of one summary request: from the first row (`offset` 0), `limit` rows at most. */
export function summarySearchParams(query: SummaryQuery<string>, limit: number): URLSearchParams {
  const params = new URLSearchParams();
  params.set('begin', formatCloudKittyTime(query.begin));
  params.set('end', formatCloudKittyTime(query.end));
  for (const key of query.groupby) {
    if (!key || /[,:]/.test(key) || ['begin', 'end', 'qty', 'rate'].includes(key)) {
      throw new RangeError(`invalid summary groupby key ${JSON.stringify(key)}`);
    }
  }
  if (query.groupby.length) params.set('groupby', query.groupby.join(','));
  params.set('filters', encodeFilters(query.filters));
  params.set('limit', String(limit));
  params.set('offset', '0');
  return params;
}

/** `{ type: ['a', 'b'], project_id: ['p'] }` → `type:a,type:b,project_id:p`, CloudKitty's only syntax. */
export function encodeFilters(filters: SummaryFilters): string {
  const pairs: string[] = [];
  for (const [key, values] of Object.entries(filters)) {
    if (!key || /[,:]/.test(key)) throw new RangeError(`invalid summary filter key ${JSON.stringify(key)}`);
    if (!values.length) throw new RangeError(`summary filter ${key} has no values`);
    for (const value of values) {
      // CloudKitty splits on ',' then on ':', and has no escaping.
      if (!value || /[,:]/.test(value)) {
        throw new RangeError(
          `summary filter ${key} has a value CloudKitty cannot express: ${JSON.stringify(value)}`,
        );
      }
      pairs.push(`${key}:${value}`);
    }
  }
  if (!pairs.length) throw new RangeError('summary filters must not be empty (CloudKitty 17 filter bug)');
  return pairs.join(',');
}

/** Where each field of a row is, by the `columns` of a `response_format=table` answer. */
export interface SummaryColumns {
  index: ReadonlyMap<string, number>;
  /** The groupby keys other than time: the row's own tags. */
  keys: readonly string[];
}

/** The columns of a summary answer, or a description of what is wrong with them. */
export function summaryColumns(columns: unknown, groupby: readonly string[]): SummaryColumns | string {
  if (!Array.isArray(columns)) return 'summary response has no columns';
  const keys = groupby.filter((k) => k !== 'time');
  const index = new Map<string, number>();
  for (const name of ['begin', 'end', 'qty', 'rate', ...keys]) {
    const at = (columns as unknown[]).indexOf(name);
    if (at < 0) return `summary response lacks column ${name}`;
    index.set(name, at);
  }
  return { index, keys };
}

/** One row of a summary answer by its columns, or a description of what is wrong with it. */
export function readSummaryRow<K extends string>(
  cells: unknown,
  columns: SummaryColumns,
): SummaryRow<K> | string {
  if (!Array.isArray(cells)) return 'summary result is not a row array';
  const at = (name: string): unknown => (cells as unknown[])[columns.index.get(name) as number];
  const begin = parseCloudKittyTime(at('begin'));
  const end = parseCloudKittyTime(at('end'));
  if (!begin || !end) return `summary row has a time without offset: ${JSON.stringify(cells.slice(0, 2))}`;
  const qty = decimalText(at('qty'));
  const rate = decimalText(at('rate'));
  if (qty === undefined || rate === undefined) return `summary row has a non-numeric qty or rate`;
  const row: Record<string, unknown> = { begin, end, qty, rate };
  for (const key of columns.keys) {
    const value = at(key);
    // A point without that tag is grouped under '' by InfluxDB; null would mean the same.
    if (value !== null && typeof value !== 'string') return `summary row has a non-text ${key}`;
    row[key] = value ?? '';
  }
  return row as SummaryRow<K>;
}

/**
 * A JSON number's shortest round-trip text: exactly the value CloudKitty summed, with nothing lost
 * and nothing invented. Strings (other response formats) are kept when they are decimals.
 */
function decimalText(value: unknown): string | null | undefined {
  if (value === null) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'string' && DECIMAL_TEXT.test(value)) return value;
  return undefined;
}
