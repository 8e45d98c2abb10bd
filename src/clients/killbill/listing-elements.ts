import type { Readable } from 'node:stream';
import { noAnswerFailure } from './kill-bill-failures.js';
import { KillBillError } from '../../errors/index.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Splits a Kill Bill listing page (a JSON array of objects) as it arrives, handing on each object parsed by
 * itself. A page of 10,000 bundles is tens of MB of text and several times that parsed whole; split, the
 * reading holds one object at a time, so a page can be as large as Kill Bill serves quickly (BENCHMARKS.md).
 * Only structure is tracked (strings, brackets); each object is judged by JSON.parse, anything else in the
 * array by this class: Kill Bill lists objects only.
 */
export class ListingSplitter {
  private elementText = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private state: 'before' | 'between' | 'after' = 'before';

  constructor(private readonly element: (value: unknown) => void) {}

  /** The next piece of the page. Throws a SyntaxError for a page that is not an array of objects. */
  write(text: string): void {
    let from = this.depth > 1 ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
      } else if (this.depth > 1) {
        if (c === QUOTE) this.inString = true;
        else if (c === OPEN_ARRAY || c === OPEN_OBJECT) this.depth++;
        else if ((c === CLOSE_ARRAY || c === CLOSE_OBJECT) && --this.depth === 1) {
          this.element(JSON.parse(this.elementText + text.slice(from, i + 1)));
          this.elementText = '';
          from = -1;
        }
      } else if (!WHITESPACE.has(c)) {
        from = this.outside(c, i, from);
      }
    }
    if (from >= 0) this.elementText += text.slice(from);
  }

  /** A character outside every object: the array's own brackets and commas. Returns where an object starts. */
  private outside(c: number, i: number, from: number): number {
    if (this.state === 'before' && c === OPEN_ARRAY) {
      this.state = 'between';
      this.depth = 1;
    } else if (this.state === 'between' && c === OPEN_OBJECT) {
      this.depth = 2;
      return i;
    } else if (this.state === 'between' && c === CLOSE_ARRAY) {
      this.state = 'after';
      this.depth = 0;
    } else if (!(this.state === 'between' && c === COMMA)) {
      throw new SyntaxError(
        `a listing page holds ${JSON.stringify(String.fromCharCode(c))} outside its objects`,
      );
    }
    return from;
  }

  /** The end of the page. Throws for one that ended before its array did. */
  end(): void {
    if (this.state !== 'after') throw new SyntaxError('the listing page ended before its JSON array did');
  }
}

/**
 * The objects of a listing page as its body arrives, `batch` at a time. A body cut short is Kill Bill's
 * answer lost on the way (retryable, as a reset is); a body that is not an array of objects is an answer no
 * retry mends.
 */
export async function* listingElements<T>(
  operation: string,
  body: Readable,
  batch: number,
): AsyncGenerator<T[]> {
  let ready: T[] = [];
  const splitter = new ListingSplitter((value) => ready.push(value as T));
  body.setEncoding('utf8');
  try {
    for await (const text of body as AsyncIterable<string>) {
      splitter.write(text);
      if (ready.length >= batch) {
        const full = ready;
        ready = [];
        yield full;
      }
    }
  } catch (err) {
    body.destroy();
    if (err instanceof SyntaxError) throw unreadable(operation, err);
    throw noAnswerFailure(operation, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
  }
  try {
    splitter.end();
  } catch (err) {
    throw unreadable(operation, err as SyntaxError);
  }
  if (ready.length > 0) yield ready;
}

function unreadable(operation: string, err: SyntaxError): KillBillError {
  return new KillBillError(operation, `unreadable answer: ${err.message}`, 200, null, false);
}
