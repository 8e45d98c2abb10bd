import { silentLogger, type Logger } from '../../logging/logger.js';
import { OpenStackAuthError, OpenStackRequestError } from '../../errors/index.js';

/** One HTTP attempt, as reported to `onRequest` (tests count them; operators may export them as metrics). */
export interface OpenStackRequestEvent {
  method: string;
  /** Without user-info. */
  url: string;
  /** 1 for the first try of a call, 2 for its first retry, ... */
  attempt: number;
  /** Undefined when no response arrived. */
  status?: number;
  /** Why no response arrived (`fetch failed (ECONNREFUSED)`, `timed out after …`), without user-info. */
  failure?: string;
  durationMs: number;
}

export interface OpenStackHttpOptions {
  /** Time allowed for one attempt, response body included. Default 30 000 ms. */
  timeoutMs?: number;
  /** Attempts per call, retries included; only 5xx and network errors are retried. Default 4. */
  attempts?: number;
  /** First retry delay; doubles each retry, with jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Ceiling for one retry delay. Default 10 000 ms. */
  maxDelayMs?: number;
  /** Retries are logged at warn. Default: silent. */
  logger?: Logger;
  /** Called after every HTTP attempt. */
  onRequest?: (event: OpenStackRequestEvent) => void;
}

export interface OpenStackHttpRequest {
  method: 'GET' | 'POST' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** `manual` returns a 3xx as it is, to read its Location. Default `follow`. */
  redirect?: 'follow' | 'manual';
  /**
   * Reads a 2xx JSON body as it arrives instead of as one text parsed whole (a large summary). Called again
   * on each attempt; throwing means the body was cut short, and the call is retried like a network error.
   */
  readJson?: (body: AsyncIterable<Uint8Array>) => Promise<unknown>;
}

export interface OpenStackHttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the server sent JSON, the text otherwise, undefined when empty. */
  body: unknown;
  /** Attempts this call took. */
  attempts: number;
}

/**
 * The HTTP plumbing shared by Keystone, CloudKitty and Heat calls: per-attempt timeout, retries with
 * exponential backoff and jitter on 5xx and network errors, and errors that name the call without
 * secrets. Responses below 500 are returned for the caller to judge (404 and 401 mean different
 * things to different calls).
 */
export class OpenStackHttp {
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly logger: Logger;
  private readonly onRequest: ((event: OpenStackRequestEvent) => void) | undefined;

  constructor(options: OpenStackHttpOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
    this.onRequest = options.onRequest;
  }

  async send(request: OpenStackHttpRequest): Promise<OpenStackHttpResponse> {
    const url = displayUrl(request.url);
    const headers: Record<string, string> = { Accept: 'application/json', ...request.headers };
    if (request.json !== undefined) headers['Content-Type'] = 'application/json';
    const body = request.json === undefined ? undefined : JSON.stringify(request.json);
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      let failure: { status?: number; message: string };
      try {
        const signal = AbortSignal.timeout(this.timeoutMs);
        const res = await fetch(request.url, {
          method: request.method,
          headers,
          body,
          signal,
          redirect: request.redirect,
        });
        const parsed = await readBody(res, request.readJson);
        this.report(request.method, url, attempt, started, res.status);
        if (res.status < 500)
          return { status: res.status, headers: res.headers, body: parsed, attempts: attempt };
        failure = { status: res.status, message: serverMessage(parsed) ?? res.statusText };
      } catch (err) {
        failure = { message: networkMessage(err, this.timeoutMs) };
        this.report(request.method, url, attempt, started, undefined, failure.message);
      }
      if (attempt >= this.attempts) {
        throw new OpenStackRequestError({
          method: request.method,
          url,
          status: failure.status,
          serverMessage: failure.message,
          attempts: attempt,
        });
      }
      const delayMs = this.backoff(attempt);
      // No answer at all is an outage, said once by whoever watches the service; a 5xx is worth a line each.
      this.logger[failure.status === undefined ? 'debug' : 'warn'](
        { method: request.method, url, status: failure.status, reason: failure.message, attempt, delayMs },
        'OpenStack request failed; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }

  /** The error for a response the caller does not accept; 401/403 become OpenStackAuthError. */
  static errorFor(request: OpenStackHttpRequest, response: OpenStackHttpResponse): OpenStackRequestError {
    const details = {
      method: request.method,
      url: displayUrl(request.url),
      status: response.status,
      serverMessage: serverMessage(response.body),
      attempts: response.attempts,
    };
    const refused = response.status === 401 || response.status === 403;
    return refused ? new OpenStackAuthError(details) : new OpenStackRequestError(details);
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    // Half fixed, half random: keeps a floor under the delay while spreading many clients apart.
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private report(
    method: string,
    url: string,
    attempt: number,
    started: number,
    status?: number,
    failure?: string,
  ): void {
    const event = { method, url, attempt, status, durationMs: Date.now() - started };
    this.onRequest?.(failure === undefined ? event : { ...event, failure });
  }
}

/**
 * Parses a configured base URL. User-info is refused, not kept: fetch cannot send it, and it would
 * put a password into every error and log line naming the URL.
 */
export function baseUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${what} is not a URL`);
  }
  if (url.username || url.password) throw new TypeError(`${what} must not contain a user name or password`);
  return url.href.replace(/\/+$/, '');
}

/** The URL as it may appear in errors and logs: user-info (a password) removed. */
export function displayUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** CloudKitty says `{"message"}`, Keystone and keystonemiddleware say `{"error": {"message"}}`. */
export function serverMessage(body: unknown): string | undefined {
  if (typeof body === 'string')
    return body
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 300);
  if (!body || typeof body !== 'object') return undefined;
  const record = body as { message?: unknown; error?: { message?: unknown } };
  if (typeof record.message === 'string') return record.message;
  if (record.error && typeof record.error.message === 'string') return record.error.message;
  return undefined;
}

async function readBody(res: Response, readJson: OpenStackHttpRequest['readJson']): Promise<unknown> {
  const json = (res.headers.get('content-type') ?? '').includes('json');
  if (readJson && res.ok && json && res.body) return readJson(res.body);
  const text = await res.text();
  if (!text) return undefined;
  if (!json) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function networkMessage(err: unknown, timeoutMs: number): string {
  // Runtime messages may quote the URL; never let user-info through.
  return describeFailure(err, timeoutMs).replace(/\/\/[^/@\s]*@/g, '//');
}

function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && err.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (err instanceof Error) {
    const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
    if (cause && typeof cause.code === 'string') return `${err.message} (${cause.code})`;
    if (cause && typeof cause.message === 'string') return `${err.message} (${cause.message})`;
    return err.message;
  }
  return String(err);
}

/** A 2xx answer whose body is not what the API documents: an error naming the request and what was wrong. */
export function malformedResponse(
  sent: OpenStackHttpRequest,
  response: OpenStackHttpResponse,
  why: string,
): OpenStackRequestError {
  const { method, url, status, attempts } = OpenStackHttp.errorFor(sent, response);
  return new OpenStackRequestError({
    method,
    url,
    status,
    attempts,
    serverMessage: `unexpected response: ${why}`,
  });
}
