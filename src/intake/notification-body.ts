import type { IncomingMessage } from 'node:http';
import { BodyReadError } from '../errors/index.js';

/** A notification's body as sent, and as parsed (any JSON value: the intake says what is wrong with it). */
export interface ReadBody {
  rawBody: string;
  body: unknown;
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)/i;

/**
 * Reads a callback's JSON body, at most `limit` bytes, as Express's `json()` parser did but without its general
 * machinery (content negotiation, decoders, streams piped through them), which cost the busiest path more than
 * the reading itself (BENCHMARKS.md, Intake). Unlike it, a compressed body or a charset other than UTF-8 is
 * refused (415) rather than decoded: Kill Bill sends small, uncompressed UTF-8 JSON. On a refusal the rest of
 * the body is still read and dropped before the answer, as that parser did, so a sender is not answered while
 * it is still sending.
 */
export function readNotificationBody(req: IncomingMessage, limit: number): Promise<ReadBody> {
  // The token is checked first (a Redis read): a sender that gave up meanwhile sends no more events.
  if (req.destroyed) return Promise.reject(aborted());
  const refused = refusedBeforeReading(req, limit);
  if (refused) return drained(req, refused);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (err: BodyReadError) => {
      req.off('data', onData).off('end', onEnd);
      drained(req, err).catch(reject);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) return stop(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => {
      req.off('close', onClose);
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== received) {
        return reject(
          new BodyReadError(400, 'request.size.invalid', 'request size did not match content length'),
        );
      }
      const rawBody = Buffer.concat(chunks, received).toString('utf8');
      try {
        resolve({ rawBody, body: parsed(rawBody) });
      } catch {
        reject(new BodyReadError(400, 'entity.parse.failed', 'body is not valid JSON'));
      }
    };
    const onClose = () => {
      if (!req.complete) reject(aborted());
    };
    req.on('data', onData).once('end', onEnd).once('close', onClose);
  });
}

/** What is wrong with the request before a byte of its body is read: its size, encoding or charset. */
function refusedBeforeReading(req: IncomingMessage, limit: number): BodyReadError | undefined {
  const encoding = (req.headers['content-encoding'] || 'identity').toLowerCase();
  if (encoding !== 'identity') {
    return new BodyReadError(415, 'encoding.unsupported', `unsupported content encoding "${encoding}"`);
  }
  const charset = CHARSET.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase() ?? 'utf-8';
  if (charset !== 'utf-8') {
    return new BodyReadError(415, 'charset.unsupported', `unsupported charset "${charset.toUpperCase()}"`);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  return declared > limit ? tooLarge(limit) : undefined;
}

const aborted = () => new BodyReadError(400, 'request.aborted', 'request aborted');
const tooLarge = (limit: number) =>
  new BodyReadError(413, 'entity.too.large', `request entity larger than ${limit} bytes`);

/** An empty body reads as `{}`, as Express's parser gave it; a byte-order mark is not part of the JSON. */
function parsed(rawBody: string): unknown {
  if (rawBody.length === 0) return {};
  return JSON.parse(rawBody.charCodeAt(0) === 0xfeff ? rawBody.slice(1) : rawBody) as unknown;
}

/** Rejects with `err` once the rest of the body has been read and dropped (or the request is gone). */
function drained(req: IncomingMessage, err: BodyReadError): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (req.complete || req.destroyed) return reject(err);
    const done = () => reject(err);
    req.once('end', done).once('close', done);
    req.resume();
  });
}
