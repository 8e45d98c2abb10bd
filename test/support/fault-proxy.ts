import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

/** What the proxy does to a request instead of passing it on. */
export type Fault =
  /** Answer this status with a short JSON body, without reaching the server. */
  | { kind: 'status'; status: number }
  /** Close the connection without an answer (a crash, a reset). */
  | { kind: 'drop' }
  /** Never answer: the caller's own timeout has to end it. */
  | { kind: 'hang' }
  /** Pass it on, then drop the connection instead of returning the answer: the server did the work. */
  | { kind: 'drop-after' }
  /** Pass it on and return the answer's status, headers and first half of its body, then drop the connection. */
  | { kind: 'cut-body' };

export interface RequestMatch {
  method?: string;
  /** A path prefix, or a pattern tested against path and query. */
  path?: string | RegExp;
}

/** One request seen by the proxy and what became of it. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** As the caller sent them: a recorded request can be sent again exactly. */
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the caller got, or how the proxy ended it. */
  outcome: number | 'drop' | 'hang' | 'drop-after' | 'cut-body' | 'unreachable';
  at: number;
  /** The caller's side of the connection it came on (its local port). */
  callerPort: number;
  /** When upstream's answer began (its status and headers), ms since the epoch; unset for faults and hangs. */
  headersAt?: number;
  /** When the whole answer was handed on to the caller, ms since the epoch; unset for faults and hangs. */
  answeredAt?: number;
}

interface PlannedFault {
  fault: Fault;
  match: RequestMatch;
  left: number;
}

/**
 * An HTTP proxy in front of a real server (Kill Bill, or the bridge's intake when Kill Bill pushes to it),
 * for fault injection: latency, error answers, dropped and hung connections, and being down altogether.
 * The server behind it stays real; only the wire between is made unreliable.
 */
export class FaultProxy {
  readonly requests: ProxiedRequest[] = [];
  /** Added before each request is passed on. */
  latencyMs = 0;
  /** Awaited before a request is passed on: lets a test change the server between two requests. */
  beforeForward: ((req: ProxiedRequest) => Promise<void>) | undefined;
  /** The body to pass on instead of the one received (undefined: unchanged); `requests` keeps the original. */
  rewriteBody: ((req: ProxiedRequest) => string | undefined) | undefined;
  /** The path and query to pass on instead of the one received (undefined: unchanged). */
  rewritePath: ((req: ProxiedRequest) => string | undefined) | undefined;
  /** The answer's headers to send back instead of the server's (as another version or size of it sends them). */
  rewriteAnswerHeaders:
    ((req: ProxiedRequest, headers: IncomingHttpHeaders) => IncomingHttpHeaders) | undefined;
  /** Each caller's connection that ended, in order, by its port: `caller` when its FIN came before we closed. */
  readonly closedConnections: Array<{ callerPort: number; by: 'caller' | 'proxy' }> = [];
  private faults: PlannedFault[] = [];
  private readonly sockets = new Set<Socket>();
  // Closes an idle connection before the server behind does (Jetty after 30 s, Node after its keepAliveTimeout
  // plus 1 s, which it announces): reused as the server closes it, a request is reset, a failure no test made.
  private readonly agent = new Agent({ keepAlive: true, timeout: 4_000 });
  private server: Server | undefined;
  private keepAliveMs = 5_000;

  private constructor(
    private readonly target: URL,
    private portNumber: number,
  ) {}

  static async start(target: string, port = 0): Promise<FaultProxy> {
    const proxy = new FaultProxy(new URL(target), port);
    await proxy.up();
    return proxy;
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNumber}`;
  }

  /** The server's `keepAliveTimeout` (Node's default 5 s; it closes 1 s later), from the next answer on. */
  get keepAliveTimeoutMs(): number {
    return this.keepAliveMs;
  }

  set keepAliveTimeoutMs(ms: number) {
    this.keepAliveMs = ms;
    if (this.server) this.server.keepAliveTimeout = ms;
  }

  /** The next `count` requests that match get `fault` instead of the server's answer. */
  failNext(count: number, fault: Fault, match: RequestMatch = {}): void {
    this.faults.push({ fault, match, left: count });
  }

  /** Every request from now on that matches gets `fault`, until {@link heal}. */
  failAll(fault: Fault, match: RequestMatch = {}): void {
    this.faults.push({ fault, match, left: Number.POSITIVE_INFINITY });
  }

  heal(): void {
    this.faults = [];
    this.latencyMs = 0;
    this.beforeForward = undefined;
  }

  /** Requests seen that match. */
  seen(match: RequestMatch = {}): ProxiedRequest[] {
    return this.requests.filter((r) => matches(match, r.method, r.path));
  }

  /** Stops listening and cuts every open connection: callers see "connection refused". */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again, on the same port. */
  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = this.keepAliveMs;
    server.on('connection', (s) => {
      this.sockets.add(s);
      const callerPort = s.remotePort ?? 0;
      let callerEnded = false;
      s.once('end', () => (callerEnded = true));
      s.once('close', () => {
        this.sockets.delete(s);
        this.closedConnections.push({ callerPort, by: callerEnded ? 'caller' : 'proxy' });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNumber, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address && typeof address === 'object') this.portNumber = address.port;
    this.server = server;
  }

  async close(): Promise<void> {
    await this.down();
    this.agent.destroy();
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const planned = this.faults.find((f) => f.left > 0 && matches(f.match, method, path));
    if (!planned) return undefined;
    planned.left--;
    return planned.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const seen: ProxiedRequest = {
      method,
      path,
      headers: req.headers,
      body: body.toString('utf8'),
      outcome: 'hang',
      at: Date.now(),
      callerPort: req.socket.remotePort ?? 0,
    };
    this.requests.push(seen);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    await this.beforeForward?.(seen);
    const fault = this.takeFault(method, path);
    if (!this.answeredByFault(fault, seen, req, res)) this.forward(req, res, seen, body, fault);
  }

  /** A fault that stands for the target's answer (or its absence): true once it has. */
  private answeredByFault(
    fault: Fault | undefined,
    seen: ProxiedRequest,
    req: IncomingMessage,
    res: ServerResponse,
  ): boolean {
    if (fault?.kind === 'hang') return true;
    if (fault?.kind === 'drop') {
      seen.outcome = 'drop';
      req.socket.destroy();
      return true;
    }
    if (fault?.kind !== 'status') return false;
    seen.outcome = fault.status;
    res.writeHead(fault.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `injected by the test proxy: ${fault.status}` }));
    return true;
  }

  /** The request to the target, rewritten as configured; its answer relayed, or spoilt by a fault after it. */
  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    seen: ProxiedRequest,
    body: Buffer,
    fault: Fault | undefined,
  ): void {
    const rewritten = this.rewriteBody?.(seen);
    const forwarded = rewritten === undefined ? body : Buffer.from(rewritten, 'utf8');
    const headers = { ...req.headers, host: this.target.host };
    if (rewritten !== undefined) headers['content-length'] = String(forwarded.length);
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: seen.method,
        path: this.rewritePath?.(seen) ?? seen.path,
        headers,
        agent: this.agent,
      },
      (answer) => this.relay(answer, req, res, seen, fault),
    );
    upstream.once('error', () => {
      seen.outcome = 'unreachable';
      req.socket.destroy();
    });
    upstream.end(forwarded);
  }

  private relay(
    answer: IncomingMessage,
    req: IncomingMessage,
    res: ServerResponse,
    seen: ProxiedRequest,
    fault: Fault | undefined,
  ): void {
    if (fault?.kind === 'drop-after') {
      answer.resume();
      answer.once('end', () => req.socket.destroy());
      seen.outcome = 'drop-after';
      return;
    }
    if (fault?.kind === 'cut-body') {
      seen.outcome = 'cut-body';
      // Whatever goes wrong on the way, the caller's answer ends cut short.
      const cut = () => req.socket.destroy();
      void cutShort(answer, res).then(cut, cut);
      return;
    }
    seen.outcome = answer.statusCode ?? 0;
    seen.headersAt = Date.now();
    const headers = this.rewriteAnswerHeaders?.(seen, answer.headers) ?? answer.headers;
    res.writeHead(answer.statusCode ?? 502, headers);
    res.once('finish', () => (seen.answeredAt = Date.now()));
    answer.pipe(res);
  }
}

/** The answer's head and the first half of its body written, the rest held back. */
async function cutShort(answer: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of answer) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  const { 'transfer-encoding': _chunked, ...headers } = answer.headers;
  res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(body.length) });
  await new Promise<void>((resolve) => res.write(body.subarray(0, body.length >> 1), () => resolve()));
}

function matches(match: RequestMatch, method: string, path: string): boolean {
  if (match.method && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? path.startsWith(match.path) : match.path.test(path);
}
