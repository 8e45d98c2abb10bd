import { BigDecimal } from './big-decimal.js';

/**
 * JSON.parse turns `0.1` into a binary double; Jackson reads it into a BigDecimal. To keep usage amounts
 * exact, this parser returns every JSON number as a BigDecimal built from its source text.
 */
export function parseJsonWithDecimals(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`Unexpected ${what} in JSON at position ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return fail(c === undefined ? 'end' : `token ${c}`);
  };
  const object = (): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    i++;
    ws();
    if (text[i] === '}') {
      i++;
      return result;
    }
    for (;;) {
      ws();
      if (text[i] !== '"') fail('token (expected a key)');
      const key = string();
      ws();
      if (text[i++] !== ':') fail('token (expected :)');
      result[key] = value();
      ws();
      const c = text[i++];
      if (c === '}') return result;
      if (c !== ',') fail('token (expected , or })');
    }
  };
  const array = (): unknown[] => {
    const result: unknown[] = [];
    i++;
    ws();
    if (text[i] === ']') {
      i++;
      return result;
    }
    for (;;) {
      result.push(value());
      ws();
      const c = text[i++];
      if (c === ']') return result;
      if (c !== ',') fail('token (expected , or ])');
    }
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('end of string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const number = (): BigDecimal => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) return fail('number');
    i += m[0].length;
    return new BigDecimal(m[0]);
  };
  const result = value();
  ws();
  if (i < text.length) fail(`token ${text[i]}`);
  return result;
}
