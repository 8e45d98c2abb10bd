import type { Request, Response } from 'express';
import { Decimal } from 'decimal.js';

/**
 * Kill Bill's response conventions: every answer is `application/json` (even empty 201/204 ones),
 * creates are 201 with an empty body and an absolute `Location`, and BigDecimals go on the wire as
 * exact JSON numbers.
 */
export const JSON_CONTENT_TYPE = 'application/json';

const DECIMAL_MARK = '\u0000decimal:';

/** JSON.stringify, except that Decimal values are written as the exact number text Jackson would write. */
export function toKillBillJson(value: unknown): string {
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    if (raw instanceof Decimal) return DECIMAL_MARK + raw.toFixed();
    return v;
  });
  return text.replace(/"\\u0000decimal:(-?[0-9.]+)"/g, '$1');
}

/** setHeader, not res.set: Express would append `; charset=utf-8`, which Kill Bill does not send. */
export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.end(Buffer.from(toKillBillJson(body), 'utf8'));
}

export function sendEmpty(res: Response, status: number): void {
  res.status(status).setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.end();
}

/** The request's own scheme and host, as JaxrsUriBuilder builds full Location URLs from it. */
export function absoluteUrl(req: Request, path: string): string {
  return `${req.protocol}://${req.get('host') ?? '127.0.0.1'}${path}`;
}

export function sendCreated(req: Request, res: Response, locationPath: string): void {
  res.setHeader('Location', absoluteUrl(req, locationPath));
  sendEmpty(res, 201);
}

export function sendNoContent(res: Response): void {
  sendEmpty(res, 204);
}

/**
 * One page of a `/pagination` listing as JaxRsResourceBase.buildStreamingPaginationResponse sends it: a bare
 * array and the X-Killbill-Pagination-* headers, the next ones left out on the last page
 * (DefaultPagination.getNextOffset() is null there). `nextQuery` is the rest of the next page's query.
 */
export function sendPage<T>(
  req: Request,
  res: Response,
  all: readonly T[],
  path: string,
  toJson: (item: T) => unknown,
  nextQuery = 'audit=NONE',
): void {
  const offset = Math.max(0, Number(req.query.offset ?? 0) || 0);
  const limit = Math.max(0, Number(req.query.limit ?? 100) || 0);
  res.set('X-Killbill-Pagination-CurrentOffset', String(offset));
  res.set('X-Killbill-Pagination-TotalNbRecords', String(all.length));
  res.set('X-Killbill-Pagination-MaxNbRecords', String(all.length));
  if (offset + limit < all.length) {
    res.set('X-Killbill-Pagination-NextOffset', String(offset + limit));
    res.set(
      'X-Killbill-Pagination-NextPageUri',
      `${path}?offset=${offset + limit}&limit=${limit}&${nextQuery}`,
    );
  }
  sendJson(res, 200, all.slice(offset, offset + limit).map(toJson));
}
