import {
  readSummaryRow,
  summaryColumns,
  type SummaryColumns,
  type SummaryRow,
} from './cloudkitty-summary.js';
import { SummaryTableSplitter } from './summary-table-splitter.js';

/** What one summary answer held. */
export interface SummaryAnswer<R> {
  /** Rows before the limit, as CloudKitty counts them. */
  total: number;
  /**
   * Rows read from this answer, kept or not; fewer than `total` means CloudKitty cut it at the limit (0 when
   * its rows were not read for that reason).
   */
  received: number;
  /** The rows `keep` kept, in CloudKitty's order. */
  rows: R[];
}

type Outside = { total?: unknown; columns?: unknown; results?: unknown };

/**
 * Reads a summary answer as it arrives, each row checked and given to `keep` at once (undefined drops it), so
 * only what the caller keeps outlives its row. An answer whose `total`, read before its rows, is already over
 * `limit` is not read further: the caller asks again for all of it, and these rows would be read for nothing
 * (`received` 0). Says what is wrong instead (`problem`) when the body is not a table answer, and throws when
 * it ended inside its JSON (the call is then retried as if the connection had broken).
 */
export async function readSummaryAnswer<K extends string, R>(
  body: AsyncIterable<Uint8Array>,
  groupby: readonly K[],
  limit: number,
  keep: (row: SummaryRow<K>) => R | undefined,
): Promise<SummaryAnswer<R> | { problem: string }> {
  const rows: R[] = [];
  let received = 0;
  let problem: string | undefined;
  let columns: SummaryColumns | string | undefined;
  /** Rows that came before their columns: CloudKitty writes columns first, but JSON does not promise it. */
  const early: unknown[] = [];
  let outside: Outside | undefined;
  let overLimit: number | undefined;
  const take = (cells: unknown) => {
    received++;
    if (problem !== undefined) return;
    if (typeof columns === 'string') return void (problem = columns);
    const row = readSummaryRow<K>(cells, columns as SummaryColumns);
    if (typeof row === 'string') return void (problem = row);
    const kept = keep(row);
    if (kept !== undefined) rows.push(kept);
  };
  const splitter = new SummaryTableSplitter({
    outside(text, complete) {
      if (complete) return void (outside = parsed(text));
      const head = parsed(`${text}}`);
      if (head?.columns !== undefined) columns = summaryColumns(head.columns, groupby);
      if (typeof head?.total === 'number' && head.total > limit) {
        overLimit = head.total;
        return false;
      }
    },
    row: (cells) => (columns === undefined ? early.push(cells) : take(cells)),
  });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of body) {
      if (!splitter.write(decoder.decode(chunk, { stream: true }))) break;
    }
    if (overLimit !== undefined) return { total: overLimit, received: 0, rows };
    splitter.write(decoder.decode());
    splitter.end();
  } catch (err) {
    if (err instanceof SyntaxError) return { problem: `summary row is not JSON: ${err.message}` };
    throw err;
  }
  if (typeof outside?.total !== 'number' || !Array.isArray(outside.results))
    return { problem: 'summary response has no numeric total or no results array' };
  if (early.length > 0) {
    columns = summaryColumns(outside.columns, groupby);
    for (const cells of early) take(cells);
  }
  return problem !== undefined ? { problem } : { total: outside.total, received, rows };
}

function parsed(text: string): Outside | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Outside) : undefined;
  } catch {
    return undefined;
  }
}
