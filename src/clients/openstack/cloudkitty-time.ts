/**
 * CloudKitty reads a raw `+` in a query string as a space (400 "expected dt_from_iso"), so times are
 * sent in UTC with `Z`; whole seconds are sent without the `.000` noise.
 */
export function formatCloudKittyTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid Date given as a CloudKitty time');
  return date.toISOString().replace('.000Z', 'Z');
}

const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * CloudKitty writes times in its server's local time zone with that zone's offset
 * (`2023-12-31T19:00:00-05:00`); the offset makes them exact. A time without an offset cannot be
 * placed safely, so it is refused rather than guessed.
 */
export function parseCloudKittyTime(text: unknown): Date | undefined {
  if (typeof text !== 'string' || !WITH_OFFSET.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
