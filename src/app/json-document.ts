import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** How much text is gathered before a write: large enough that a document of 100,000 results takes few writes. */
const CHUNK_CHARS = 64 * 1024;

/** What JSON.stringify would write for `value` as the property `key`: its toJSON (a Date's text) applied. */
function jsonValue(value: unknown, key: string): unknown {
  const toJSON = (value as { toJSON?: (key: string) => unknown } | null)?.toJSON;
  return typeof toJSON === 'function' ? toJSON.call(value, key) : value;
}

/** An array or a plain object: what the pieces take apart. Anything else (a Map, a boxed string) goes whole. */
function isContainer(v: unknown): v is object {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return Array.isArray(v) || proto === Object.prototype || proto === null;
}

/** One value as JSON.stringify(value, null, 2) writes it at `indent`: in one piece. */
function whole(value: unknown, indent: string): string | undefined {
  return JSON.stringify(value, null, 2)?.replace(/\n/g, `\n${indent}`);
}

const omitted = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * The text of JSON.stringify(value, null, 2), in pieces: an object property by property, an array element by
 * element, so a report of 100,000 subscriptions is never one string (at 100,000 it was 24 MB, and more again as
 * the bytes written).
 */
export function jsonPieces(value: unknown): Generator<string> {
  return pieces(jsonValue(value, ''), '');
}

/** `v` with its toJSON already applied, as JSON.stringify calls it once. */
function* pieces(v: unknown, indent: string): Generator<string> {
  if (!isContainer(v)) return yield whole(v, indent) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return yield '[]';
    for (const [i, element] of v.entries())
      yield `${i === 0 ? '[' : ','}\n${inner}${whole(element, inner) ?? 'null'}`;
    return yield `\n${indent}]`;
  }
  let first = true;
  for (const [k, raw] of Object.entries(v)) {
    const child = jsonValue(raw, k);
    if (omitted(child)) continue;
    yield `${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `;
    yield* pieces(child, inner);
    first = false;
  }
  yield first ? '{}' : `\n${indent}}`;
}

/** Until `out` takes more; throws if it closes or fails first (a reader that went away), never waits forever. */
async function drained(out: Writable): Promise<void> {
  const closed = () => out.errored ?? new Error('the output closed before the document was written');
  if (out.destroyed) throw closed();
  const stop = new AbortController();
  try {
    await Promise.race([
      once(out, 'drain', { signal: stop.signal }),
      once(out, 'close', { signal: stop.signal }).then(() => {
        throw closed();
      }),
    ]);
  } finally {
    stop.abort();
  }
}

/** Writes `doc` and a newline to `out` as JSON.stringify(doc, null, 2) would, a chunk at a time. */
export async function writeJsonDocument(out: Writable, doc: unknown): Promise<void> {
  let chunk = '';
  const flush = async () => {
    const full = !out.write(chunk);
    chunk = '';
    if (full) await drained(out);
  };
  for (const piece of jsonPieces(doc)) {
    chunk += piece;
    if (chunk.length >= CHUNK_CHARS) await flush();
  }
  chunk += '\n';
  await flush();
}
