import type Convict from 'convict';
import { convict } from './convict.js';
import { parseRedisUrl, REDIS_URL_FORMS } from './redis-url.js';
import type { Milliseconds } from './config-types.js';

/**
 * Formats for the schema. Each throws a message that says what was expected, because the loader
 * shows it next to the key and the place the value came from.
 */

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `30s`, `15m`, `2h`, `1d` into milliseconds; undefined when it is not one. */
export function parseDuration(text: string): Milliseconds | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * DURATION_MS[m[2]!]!;
}

/** A duration the `duration` or `window-size` format has accepted, in milliseconds. */
export function validatedDuration(text: string): Milliseconds {
  const ms = parseDuration(text);
  // Only reached if a key were read as a duration without the schema validating it as one.
  if (ms === undefined) throw new Error(`not a validated duration: ${JSON.stringify(text)}`);
  return ms;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Structured values set from the environment arrive as JSON text; a bad one is left for the validator to name. */
function parseJsonFromEnv(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** Every format the schema names by its `format`. */
const FORMATS: Convict.Format[] = [
  {
    name: 'http-url',
    validate(value: unknown) {
      if (typeof value !== 'string' || !isHttpUrl(value)) {
        throw new Error('expected an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080');
      }
    },
  },
  {
    name: 'optional-http-url',
    validate(value: unknown) {
      if (value === '' || value === null) return;
      if (typeof value !== 'string' || !isHttpUrl(value)) {
        throw new Error('expected an http:// or https:// URL with a host, or nothing');
      }
    },
  },
  {
    name: 'redis-url',
    validate(value: unknown) {
      if (typeof value !== 'string') throw new Error(`expected a URL such as ${REDIS_URL_FORMS}`);
      parseRedisUrl(value);
    },
  },
  {
    name: 'required-string',
    validate(value: unknown) {
      if (typeof value !== 'string' || value.trim() === '')
        throw new Error('is required: a non-empty string');
    },
  },
  // Empty means "not configured": the bridge then makes a token per tenant and keeps it in Redis.
  {
    name: 'optional-callback-token',
    validate(value: unknown) {
      if (value === '') return;
      if (typeof value !== 'string' || value.length < 16 || !/^[A-Za-z0-9._~-]+$/.test(value)) {
        throw new Error(
          'expected a secret of at least 16 URL-safe characters (letters, digits, . _ ~ -), or nothing to have the bridge make one',
        );
      }
    },
  },
  {
    name: 'duration',
    validate(value: unknown) {
      if (typeof value !== 'string' || parseDuration(value) === undefined) {
        throw new Error('expected a duration such as 500ms, 30s, 15m, 2h or 1d');
      }
    },
  },
  {
    name: 'window-size',
    validate(value: unknown) {
      const ms = typeof value === 'string' ? parseDuration(value) : undefined;
      if (ms === undefined || ms < 60_000 || 86_400_000 % ms !== 0) {
        throw new Error('expected a window size that divides a day, from 1m to 1d (e.g. 1h, 1d)');
      }
      // Tracking ids carry a window's start to the minute.
      if (ms % 60_000 !== 0) throw new Error('expected a whole number of minutes, e.g. 15m or 2h');
    },
  },
  {
    name: 'positive-int',
    validate(value: unknown) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw new Error('expected a whole number of 1 or more');
      }
    },
    coerce: (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
  },
  {
    name: 'metric-units',
    validate(value: unknown) {
      const ok =
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.entries(value).every(
          ([k, v]) => /^[A-Za-z0-9_.-]+$/.test(k) && typeof v === 'string' && /^[A-Za-z0-9_.-]+$/.test(v),
        );
      if (!ok) {
        throw new Error(
          'expected a map of CloudKitty metric type to Kill Bill unit, e.g. {"instance":"openstack-billed-instance"}',
        );
      }
    },
    coerce: parseJsonFromEnv,
  },
  {
    name: 'tenant-list',
    validate(value: unknown) {
      const ok =
        Array.isArray(value) &&
        value.every(
          (t) =>
            typeof t === 'object' &&
            t !== null &&
            typeof (t as Record<string, unknown>).apiKey === 'string' &&
            typeof (t as Record<string, unknown>).apiSecret === 'string',
        );
      if (!ok) throw new Error('expected a list of {apiKey, apiSecret}');
    },
    coerce: parseJsonFromEnv,
  },
];

let added = false;

export function addConfigFormats(): void {
  if (added) return;
  added = true;
  for (const format of FORMATS) convict.addFormat(format);
}
