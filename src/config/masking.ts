import { maskRedisUrl, parseRedisUrl } from './redis-url.js';
import { SECRET_KEYS } from './schema.js';

export const MASK = '********';

/** A URL as it may be shown: its password (a Redis URL may carry one) replaced, no trailing slash. */
export function shownUrl(url: string): string {
  // Sentinel and Cluster URLs list several hosts, which WHATWG URLs cannot hold.
  if (/^rediss?(-sentinel|-cluster)?:\/\//i.test(url)) return maskRedisUrl(url).replace(/\/$/, '');
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unreadable URL)';
  }
}

/** A Redis URL with its passwords replaced; one that cannot be parsed may hide one anywhere, so all of it. */
function shownRedisUrl(value: string): string {
  try {
    parseRedisUrl(value);
    return maskRedisUrl(value, MASK);
  } catch {
    return MASK;
  }
}

/** The value as it may be shown to a person: secrets masked, everything else as JSON. */
export function showValue(key: string, value: unknown): string {
  if (!SECRET_KEYS.has(key)) return JSON.stringify(value);
  if (key === 'redis.url' && typeof value === 'string') return JSON.stringify(shownRedisUrl(value));
  if (value === '' || value === undefined || value === null) return JSON.stringify(value ?? '');
  if (Array.isArray(value)) return JSON.stringify(value.map(() => MASK));
  return JSON.stringify(MASK);
}
