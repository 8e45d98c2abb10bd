import http from 'node:http';
import https from 'node:https';
import type { SubscriptionUsageRecord } from 'killbill';
import { answeredFailure, noAnswerFailure } from './kill-bill-failures.js';

const OPERATION = 'record usage';

/**
 * How long a kept-alive connection may sit idle before we close it. A server closes idle connections too (Jetty
 * after 30 s, Node after its keepAliveTimeout + 1 s); a record sent on one at the moment the server closes it is
 * reset, unanswered, and its subscription's run fails. Closing first avoids that. With an idle timeout of its
 * own, Node's agent also closes a second before a shorter `Keep-Alive: timeout=` the server announces; without
 * one it keeps the connection forever. (The socket also emits 'timeout' after 4 s without data during a
 * request; nothing listens, so only `timeoutMs` ends a slow answer.)
 */
const IDLE_CONNECTION_MS = 4_000;

export interface UsagePostOptions {
  /** Base URL, without /1.0/kb. */
  url: string;
  username: string;
  password: string;
  apiKey: string;
  apiSecret: string;
  createdBy: string;
  /** Time from sending to the whole answer, in ms. */
  timeoutMs: number;
}

/**
 * `POST /1.0/kb/usages` on Node's own HTTP client, over kept-alive connections: the one Kill Bill call a sync
 * makes per subscription and window. Through axios and the generated client the same request costs about
 * three times the CPU of a bare one (BENCHMARKS.md, "A usage record's CPU"); the answer is read exactly as
 * there: any failure is a `KillBillError` with the same status, code, message and retry verdict.
 */
export class UsagePost {
  private readonly target: URL;
  private readonly headers: Record<string, string>;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(private readonly options: UsagePostOptions) {
    this.target = new URL('/1.0/kb/usages', `${options.url.replace(/\/+$/, '')}/`);
    const secure = this.target.protocol === 'https:';
    this.request = secure ? https.request : http.request;
    const kept = { keepAlive: true, timeout: IDLE_CONNECTION_MS };
    this.agent = secure ? new https.Agent(kept) : new http.Agent(kept);
    const basic = Buffer.from(`${options.username}:${options.password}`).toString('base64');
    this.headers = {
      Accept: 'application/json',
      'Content-Type': 'application/json',
      Authorization: `Basic ${basic}`,
      'X-Killbill-ApiKey': options.apiKey,
      'X-Killbill-ApiSecret': options.apiSecret,
      'X-Killbill-CreatedBy': options.createdBy,
    };
  }

  /** Sends the record; resolves with Kill Bill's 2xx status, rejects with a `KillBillError` otherwise. */
  send(record: SubscriptionUsageRecord): Promise<{ status: number }> {
    const body = JSON.stringify(record);
    const headers = { ...this.headers, 'Content-Length': String(Buffer.byteLength(body)) };
    return new Promise((resolve, reject) => {
      const req = this.request(this.target, { method: 'POST', agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
        res.on('end', () => {
          clearTimeout(deadline);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve({ status });
          reject(answeredFailure(OPERATION, status, answerBody(Buffer.concat(chunks).toString('utf8'))));
        });
      });
      const fail = (why: string) => {
        clearTimeout(deadline);
        reject(noAnswerFailure(OPERATION, why));
      };
      // The word axios uses for a timeout, so a hung Kill Bill reads the same whichever call met it.
      const deadline = setTimeout(() => req.destroy(errorCoded('ECONNABORTED')), this.options.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
      req.end(body);
    });
  }
}

/** Kill Bill's error answers are JSON (`{className, code, message}`); anything else is kept as text. */
function answerBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorCoded(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

/**
 * Whether calls to `url` must go through a proxy named in the environment (`HTTP_PROXY`, `HTTPS_PROXY`):
 * axios honours those, Node's own client does not, so such a Kill Bill keeps every call on the generated client.
 */
export function proxiedFromEnv(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const secure = url.startsWith('https:');
  const names = secure ? ['HTTPS_PROXY', 'https_proxy'] : ['HTTP_PROXY', 'http_proxy'];
  return names.some((n) => (env[n] ?? '') !== '');
}
