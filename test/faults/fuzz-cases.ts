import { randomUUID } from 'node:crypto';
import { accountNotification } from '../support/intake-service.js';

/** One generated request: what is sent, and the answers that keep the rule for it. */
export interface FuzzCase {
  index: number;
  kind: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  expect: number[];
}

/** Small, seedable PRNG (mulberry32): a failing run is replayed from its printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROTOTYPE_NAMES = [
  'constructor',
  'toString',
  '__proto__',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  'propertyIsEnumerable',
  'toLocaleString',
];
const KEYS = ['eventType', 'accountId', 'objectType', 'objectId', 'metaData'];
const ODD_VALUES: unknown[] = [
  0,
  -1,
  1e308,
  true,
  false,
  [],
  {},
  [1, 2],
  { a: 1 },
  '',
  ' ',
  'null',
  '\u0000',
];

function valid(): Record<string, unknown> {
  return accountNotification();
}

type Draw = () => number;
const pick = <T>(r: Draw, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Each kind makes a JSON body (or raw bytes) that Kill Bill never sends, and so must be refused with a 4xx. */
const BODY_KINDS: Record<string, (r: Draw) => string | Buffer> = {
  'wrong type': (r) => JSON.stringify({ ...valid(), [pick(r, KEYS)]: pick(r, ODD_VALUES) }),
  'missing key': (r) => {
    const b = valid();
    for (const k of KEYS) if (r() < 0.4) delete b[k];
    if (Object.keys(b).length === KEYS.length) delete b[pick(r, KEYS)];
    return JSON.stringify(b);
  },
  'extra key': (r) => {
    const name = r() < 0.5 ? pick(r, PROTOTYPE_NAMES) : `k${Math.floor(r() * 1e6)}`;
    // Written as text: JSON.stringify would drop a "__proto__" key set on an object literal.
    return JSON.stringify(valid()).replace(
      /}$/,
      `,${JSON.stringify(name)}:${JSON.stringify(pick(r, ODD_VALUES))}}`,
    );
  },
  'prototype name': (r) =>
    JSON.stringify({ ...valid(), [r() < 0.7 ? 'eventType' : 'objectType']: pick(r, PROTOTYPE_NAMES) }),
  'huge string': (r) =>
    JSON.stringify({ ...valid(), [pick(r, KEYS)]: 'A'.repeat(1_000 + Math.floor(r() * 50_000)) }),
  'deep nesting': (r) => {
    const depth = 1_000 + Math.floor(r() * 20_000);
    if (r() < 0.5) return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // A nested value where Kill Bill sends a string, written as text so it can be deeper than stringify goes.
    const deep = `${'{"a":'.repeat(depth / 5)}1${'}'.repeat(depth / 5)}`;
    return JSON.stringify(valid()).replace('"ACCOUNT_CREATION"', deep);
  },
  'invalid UTF-8': (r) => {
    const text = JSON.stringify({ ...valid(), eventType: 'ACCOUNT_XX' });
    const at = text.indexOf('XX');
    return Buffer.concat([
      Buffer.from(text.slice(0, at)),
      Buffer.from([pick(r, [0xff, 0xc3, 0xe2, 0xf0, 0x80]), 0x28]),
      Buffer.from(text.slice(at + 2)),
    ]);
  },
  'not an object': (r) =>
    pick(r, ['1', '"ACCOUNT_CREATION"', 'null', 'true', '[]', `[${JSON.stringify(valid())}]`]),
  'not JSON': (r) => pick(r, ['{', '{"eventType":', "{'a':1}", 'undefined', '{"a":1,}', 'NaN', '']),
  'bad id': (r) =>
    JSON.stringify({
      ...valid(),
      [pick(r, ['accountId', 'objectId'])]: pick(r, ['42', 'x'.repeat(36), `${randomUUID()} `]),
    }),
  'bad metaData': (r) =>
    JSON.stringify({ ...valid(), metaData: pick(r, ['{nope', '[1,2]', '"str"', '{"a":1}x']) }),
  'mismatched object type': () => JSON.stringify({ ...valid(), objectType: 'INVOICE' }),
  'random bytes': (r) =>
    Buffer.from(Array.from({ length: 1 + Math.floor(r() * 200) }, () => Math.floor(r() * 256))),
};

function jsonCase(r: Draw, index: number, token: string): FuzzCase {
  const kind = pick(r, Object.keys(BODY_KINDS));
  const made = BODY_KINDS[kind]!(r);
  const body = typeof made === 'string' ? Buffer.from(made) : made;
  // A body over the 64 KB limit is refused as too large before anyone reads it.
  const expect = body.length > 64 * 1024 ? [413] : [400];
  return { index, kind, path: path(token), headers: { 'content-type': 'application/json' }, body, expect };
}

const path = (token: string) => `/killbill/notifications?token=${encodeURIComponent(token)}`;

/** `count` requests from `seed`: mostly bad JSON bodies, then bad transport, bad tokens and ignorable events. */
export function fuzzCases(seed: number, count: number, token: string): FuzzCase[] {
  const r = prng(seed);
  const cases: FuzzCase[] = [];
  for (let index = 0; index < count; index++) {
    const roll = r();
    const json = JSON.stringify(valid());
    if (roll < 0.75) cases.push(jsonCase(r, index, token));
    else if (roll < 0.82) {
      const type = pick(r, [
        'text/plain',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
      ]);
      cases.push({
        index,
        kind: 'wrong content type',
        path: path(token),
        headers: { 'content-type': type },
        body: Buffer.from(json),
        expect: [415],
      });
    } else if (roll < 0.85) {
      cases.push({
        index,
        kind: 'unsupported encoding',
        path: path(token),
        headers: { 'content-type': 'application/json', 'content-encoding': pick(r, ['gzip', 'br', 'x-zip']) },
        body: Buffer.from(json),
        expect: [400, 415],
      });
    } else if (roll < 0.88) {
      cases.push({
        index,
        kind: 'oversized',
        path: path(token),
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ ...valid(), metaData: 'x'.repeat(70_000) })),
        expect: [413],
      });
    } else if (roll < 0.95) {
      const bad = pick(r, [
        '',
        'nope',
        token.slice(1),
        `${token}x`,
        token.toUpperCase(),
        'é'.repeat(8),
        '%00',
      ]);
      const p =
        r() < 0.2
          ? '/killbill/notifications'
          : `/killbill/notifications?token=${bad === '%00' ? bad : encodeURIComponent(bad)}`;
      cases.push({
        index,
        kind: 'bad token',
        path: p,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(json),
        expect: [401],
      });
    } else {
      // Well-formed, of a type no Kill Bill 0.24 sends (a newer server's): acknowledged, ignored, no job.
      const id = randomUUID();
      const body = {
        eventType: `FUTURE_EVENT_${Math.floor(r() * 1e6)}`,
        accountId: id,
        objectType: 'ACCOUNT',
        objectId: id,
        metaData: null,
      };
      cases.push({
        index,
        kind: 'ignorable event',
        path: path(token),
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
        expect: [200],
      });
    }
  }
  return cases;
}
