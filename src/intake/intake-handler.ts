import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readNotificationBody, type ReadBody } from './notification-body.js';
import type { IntakeAnswer, NotificationIntake } from './notification-intake.js';

/** Kill Bill's bodies are a few hundred bytes; anything near this is not from Kill Bill. */
const BODY_LIMIT_BYTES = 64 * 1024;
export const BODY_LIMIT = `${BODY_LIMIT_BYTES / 1024}kb`;

/** The default tenant's callback path; a tenant's own is this, `/`, its API key. */
export const NOTIFICATIONS_PATH = '/killbill/notifications';

/**
 * The answer, written straight to Node's response: the same bytes as Express's `res.json` would send
 * (content type with charset, length), without its per-call content-type parsing, on the busiest path.
 */
function answer(res: Response, { status, body }: IntakeAnswer): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** Whose callback a path is: the default tenant's (no key), a tenant's, or undefined when it is no callback. */
type CallbackPath = { tenantApiKey?: string } | undefined;

/**
 * Matched by hand as Express's router matched the two routes (any case, one trailing slash allowed, the
 * tenant's segment non-empty and percent-decoded): a router of its own cost each notification about 11 µs of
 * CPU, some 4 % of its whole cost (BENCHMARKS.md, Intake).
 */
export function callbackPathOf(path: string): CallbackPath {
  if (path.slice(0, NOTIFICATIONS_PATH.length).toLowerCase() !== NOTIFICATIONS_PATH) return undefined;
  const rest = path.slice(NOTIFICATIONS_PATH.length).replace(/\/$/, '');
  if (rest === '') return {};
  const segment = rest.slice(1);
  if (rest[0] !== '/' || segment === '' || segment.includes('/')) return undefined;
  try {
    return { tenantApiKey: decodeURIComponent(segment) };
  } catch {
    throw Object.assign(new Error(`the tenant in the path is not a valid URI component: ${segment}`), {
      status: 400,
    });
  }
}

const isBodyError = (err: unknown): boolean => {
  const type = (err as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' && /^(entity|encoding|charset)\./.test(type);
};

/**
 * The thin Express adapter over {@link NotificationIntake}: `POST` to a callback path; anything else goes on.
 * The token is checked before the body is read, so strangers cannot make the service parse anything.
 */
export function createIntakeHandler(intake: NotificationIntake): RequestHandler {
  const receive = async (req: Request, res: Response, next: NextFunction, tenantApiKey?: string) => {
    const check = await intake.checkToken(req.query.token, tenantApiKey);
    if (check.refused) return answer(res, check.refused);
    if (!req.is('application/json')) {
      intake.rejectedUnread();
      res.status(415).json({ error: 'Content-Type must be application/json' });
      return;
    }
    let incoming: ReadBody;
    try {
      incoming = await readNotificationBody(req, BODY_LIMIT_BYTES);
    } catch (err) {
      // A body refused before it could be read is a rejected notification too; the answer is intakeErrorHandler's.
      if (isBodyError(err)) intake.rejectedUnread();
      return next(err);
    }
    answer(res, await intake.accept(check.caller, incoming));
  };

  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    let callback: CallbackPath;
    try {
      callback = callbackPathOf(req.path);
    } catch (err) {
      return next(err);
    }
    if (callback === undefined) return next();
    receive(req, res, next, callback.tenantApiKey).catch(next);
  };
}

/** Bodies that could not be read as short JSON answers; never a stack trace. */
export function intakeErrorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const e = err as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.too.large') {
    res.status(413).json({ error: `body larger than ${BODY_LIMIT}` });
  } else if (e.type === 'entity.parse.failed') {
    res.status(400).json({ error: 'malformed notification', reason: 'body is not valid JSON' });
  } else if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    res.status(415).json({ error: 'unsupported body encoding' });
  } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    res.status(e.status).json({ error: e.message ?? 'bad request' });
  } else {
    res.status(500).json({ error: 'internal error' });
  }
}
