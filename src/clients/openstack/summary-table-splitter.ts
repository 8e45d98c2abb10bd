const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
/** Between rows only whitespace and commas belong; anything else is a row that is not an array. */
const BETWEEN_ROWS = new Set([0x20, 0x09, 0x0a, 0x0d, COMMA, OPEN_ARRAY, OPEN_OBJECT, CLOSE_ARRAY]);
/** The top-level key whose array holds the rows; anchored so a key merely ending in `results` is not it. */
const RESULTS_KEY = /[{,]\s*"results"\s*:\s*$/;

export interface SummaryTableParts {
  /**
   * The body outside the rows, `results` left empty, as far as it has arrived: at the start of `results`
   * (CloudKitty writes `total` and `columns` before it) and at the end. May return false to stop reading.
   */
  outside(text: string, complete: boolean): boolean | void;
  /** One row of `results`, parsed alone; null for one that is not an array or object (`null`, `1`, `"a"`). */
  row(cells: unknown): void;
}

/**
 * Splits a `response_format=table` summary body (`{"total": …, "columns": […], "results": [[…], …]}`) as it
 * arrives, handing each row of `results` on parsed by itself. One hour of 100,000 projects is 200,000 rows and
 * 26 MB of text: held whole, as text and then as one parsed tree, it was most of a sync's peak memory. Only JSON
 * structure is tracked (strings and brackets), not its grammar: what is handed on is parsed by JSON.parse,
 * which judges it, and the caller judges the outside text the same way.
 */
export class SummaryTableSplitter {
  private outsideText = '';
  private rowText = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private mode: 'outside' | 'between-rows' | 'row' = 'outside';
  private stopped = false;
  /** Inside a row that is a bare value, already handed on as null. */
  private bareRow = false;

  constructor(private readonly parts: SummaryTableParts) {}

  /** The next piece of the body; false once the caller has asked to stop reading. */
  write(text: string): boolean {
    if (this.stopped) return false;
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (this.mode === 'between-rows') this.betweenRows(c);
      if (c === QUOTE) {
        this.inString = true;
      } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
        this.depth++;
        if (this.mode === 'between-rows' && this.depth === 3) {
          this.mode = 'row';
          from = i;
        } else if (this.mode === 'outside' && this.depth === 2 && c === OPEN_ARRAY) {
          this.outsideText += text.slice(from, i);
          if (RESULTS_KEY.test(this.outsideText.slice(-64))) {
            this.outsideText += '[]';
            this.mode = 'between-rows';
            if (this.parts.outside(this.outsideText, false) === false) return this.stop();
          }
          from = i;
        }
      } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
        this.depth--;
        if (this.mode === 'row' && this.depth === 2) {
          this.parts.row(JSON.parse(this.rowText + text.slice(from, i + 1)));
          this.rowText = '';
          this.mode = 'between-rows';
        } else if (this.mode === 'between-rows' && this.depth === 1) {
          this.mode = 'outside';
          from = i + 1;
        }
      }
    }
    if (this.mode === 'outside') this.outsideText += text.slice(from);
    else if (this.mode === 'row') this.rowText += text.slice(from);
    return true;
  }

  /** Counts a bare value between rows once, so that it is refused rather than skipped. */
  private betweenRows(c: number): void {
    if (c === COMMA) this.bareRow = false;
    else if (!BETWEEN_ROWS.has(c) && !this.bareRow) {
      this.bareRow = true;
      this.parts.row(null);
    }
  }

  /** The end of the body: the outside text goes to `outside`. Throws for a body that ended inside its JSON. */
  end(): void {
    if (this.stopped) return;
    if (this.mode !== 'outside' || this.depth !== 0 || this.inString)
      throw new Error('the summary answer ended before its JSON did');
    this.parts.outside(this.outsideText, true);
  }

  private stop(): false {
    this.stopped = true;
    return false;
  }
}
