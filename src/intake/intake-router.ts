import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Caller, IntakeAnswer, NotificationIntake } from './notification-intake.js';

/** Kill Bill's bodies are a few hundred bytes; anything near this is not from Kill Bill. */
export const BODY_LIMIT = '64kb';

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

/** The tenant named in the path; undefined at the default tenant's path. */
const tenantOf = (req: Request): string | undefined =>
  typeof req.params.tenantApiKey === 'string' ? req.params.tenantApiKey : undefined;

/** The request's caller once its token was accepted, kept for the handler that reads the body. */
const CALLER = 'notificationCaller';

/** The thin Express adapter over {@link NotificationIntake}. */
export function createIntakeRouter(intake: NotificationIntake): Router {
  const router = express.Router();

  // The token is checked before the body is read, so strangers cannot make the service parse anything.
  const checkToken = async (req: Request, res: Response, next: NextFunction) => {
    const check = await intake.checkToken(req.query.token, tenantOf(req));
    if (check.refused) {
      answer(res, check.refused);
      return;
    }
    if (!req.is('application/json')) {
      intake.rejectedUnread();
      res.status(415).json({ error: 'Content-Type must be application/json' });
      return;
    }
    res.locals[CALLER] = check.caller;
    next();
  };
  const parseJson = express.json({
    limit: BODY_LIMIT,
    type: 'application/json',
    strict: false,
    verify: (req, _res, buf) => {
      (req as Request & { rawBody?: string }).rawBody = buf.toString('utf8');
    },
  });
  const handle = async (req: Request, res: Response) => {
    answer(
      res,
      await intake.accept(res.locals[CALLER] as Caller, {
        rawBody: (req as Request & { rawBody?: string }).rawBody ?? '',
        body: req.body,
      }),
    );
  };

  router.post('/killbill/notifications', checkToken, parseJson, handle);
  router.post('/killbill/notifications/:tenantApiKey', checkToken, parseJson, handle);
  // A body the parser refused is a rejected notification too; the answer is left to intakeErrorHandler.
  router.use((err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    const type = (err as { type?: unknown }).type;
    if (typeof type === 'string' && /^(entity|encoding|charset)\./.test(type)) intake.rejectedUnread();
    next(err);
  });
  return router;
}

/** Body-parser failures as short JSON answers; never a stack trace. */
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
