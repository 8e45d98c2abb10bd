import { SECRET_KEYS } from './schema.js';

export const MASK = '********';

/** A URL with its password replaced, so a Redis URL can be shown without its secret. */
function maskUrlPassword(value: string): string {
  try {
    const u = new URL(value);
    if (!u.password) return value;
    u.password = MASK;
    return u.toString();
  } catch {
    return MASK;
  }
}

/** The value as it may be shown to a person: secrets masked, everything else as JSON. */
export function showValue(key: string, value: unknown): string {
  if (!SECRET_KEYS.has(key)) return JSON.stringify(value);
  if (key === 'redis.url' && typeof value === 'string') return JSON.stringify(maskUrlPassword(value));
  if (value === '' || value === undefined || value === null) return JSON.stringify(value ?? '');
  if (Array.isArray(value)) return JSON.stringify(value.map(() => MASK));
  return JSON.stringify(MASK);
}
