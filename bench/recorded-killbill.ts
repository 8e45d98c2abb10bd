import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answersOf, RecordedTenant, UUID, type Page } from './recorded-answers.js';
import type { RecordedExchange } from './record-killbill-answers.js';

/**
 * A stand-in for Kill Bill that serves answers recorded from the real one (bench/killbill-answers/) for a
 * tenant of N metered accounts, for the benches the real Kill Bill of this machine is too slow to hold: it
 * makes about 8 accounts a second. It serves exactly the calls `bridge registry sync` and `bridge sync` make,
 * checks every usage record's shape, and keeps what each subscription-unit was given, so that a bench can
 * check every cent. Anything else is answered 404 and counted as unexpected.
 */

export interface RecordedKillBillOptions {
  accounts: number;
  /** When every subscription starts (and its billing cycle day): a few hours back keeps the catch-up short. */
  start: Date;
  username: string;
  password: string;
  apiKey: string;
  apiSecret: string;
  /**
   * How long each usage record waits before its answer (default 0): about 470 ms, with the bridge's 16 at
   * once, is the real Kill Bill's pace here (34 records a second), so the bridge's CPU can be measured at that
   * pace without Kill Bill's own CPU beside it.
   */
  usageDelayMs?: number;
}

/** What the stand-in found wrong in the calls it got: each should stay 0. */
export interface Problems {
  /** Calls to a route the recorded answers do not hold. */
  unexpected: number;
  /** Usage records of the wrong shape (missing fields, an amount not an integer, an unknown unit). */
  malformed: number;
  /** Usage records for a subscription the tenant does not hold. */
  unknownSubscription: number;
  /** Usage records whose trackingId the subscription already had. */
  duplicate: number;
  /** Calls without the tenant's credentials. */
  unauthorized: number;
}

interface UsageBody {
  subscriptionId?: unknown;
  trackingId?: unknown;
  unitUsageRecords?: Array<{
    unitType?: unknown;
    usageRecords?: Array<{ recordDate?: unknown; amount?: unknown }>;
  }>;
}

const LISTINGS = {
  '/1.0/kb/accounts/pagination': 'accounts',
  '/1.0/kb/bundles/pagination': 'bundles',
  '/1.0/kb/customFields/pagination': 'customFields',
} as const;
/** Kill Bill's page when a listing names none (contract §1.3). */
const DEFAULT_LIMIT = 100;

export class RecordedKillBill {
  /** Calls by method and path, ids and query left out. */
  readonly calls = new Map<string, number>();
  readonly problems: Problems = {
    unexpected: 0,
    malformed: 0,
    unknownSubscription: 0,
    duplicate: 0,
    unauthorized: 0,
  };
  readonly units: readonly string[];
  private readonly tenant: RecordedTenant;
  /** Units each subscription was given, summed: [subscription × unit]. */
  private readonly given: Float64Array;
  private readonly trackingIds = new Set<string>();
  private readonly catalog: RecordedExchange;
  private readonly usage: Record<'created' | 'duplicate' | 'unknown', RecordedExchange>;
  private readonly auth: string;
  private server: Server | undefined;

  private constructor(private readonly options: RecordedKillBillOptions) {
    this.tenant = new RecordedTenant(options.accounts, options.start);
    this.catalog = answersOf('get-catalog.json')[0]!;
    const versions = this.catalog.body as Array<{ units?: Array<{ name: string }> }>;
    this.units = (versions.at(-1)?.units ?? []).map((u) => u.name);
    this.given = new Float64Array(options.accounts * this.units.length);
    const posted = answersOf('post-usages.json');
    const answered = (status: number) => posted.find((e) => e.status === status)!;
    this.usage = { created: answered(201), duplicate: answered(400), unknown: answered(404) };
    this.auth = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  }

  static async start(options: RecordedKillBillOptions): Promise<RecordedKillBill> {
    const kb = new RecordedKillBill(options);
    kb.server = createServer((req, res) => void kb.handle(req, res));
    await new Promise<void>((resolve) => kb.server!.listen(0, '127.0.0.1', resolve));
    return kb;
  }

  get url(): string {
    const address = this.server?.address();
    if (!address || typeof address !== 'object') throw new Error('the recorded Kill Bill is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** The units Kill Bill was given for account `i`'s subscription and `unit`, summed. */
  recorded(i: number, unit: string): number {
    return this.given[i * this.units.length + this.units.indexOf(unit)]!;
  }

  /** The calls so far, by route: take two and subtract to get one run's. */
  callsSoFar(): Map<string, number> {
    return new Map(this.calls);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://kb');
    const route = `${req.method} ${url.pathname.replace(UUID, '{id}')}`;
    this.calls.set(route, (this.calls.get(route) ?? 0) + 1);
    const h = req.headers;
    if (
      h.authorization !== this.auth ||
      h['x-killbill-apikey'] !== this.options.apiKey ||
      h['x-killbill-apisecret'] !== this.options.apiSecret
    ) {
      this.problems.unauthorized++;
      return send(res, 401, {}, '');
    }
    const listing = LISTINGS[url.pathname as keyof typeof LISTINGS];
    if (req.method === 'GET' && listing) return sendPage(res, this.tenant.page(listing, ...pageOf(url)));
    if (req.method === 'GET' && url.pathname === '/1.0/kb/catalog')
      return send(res, this.catalog.status, this.catalog.headers, JSON.stringify(this.catalog.body));
    if (req.method === 'POST' && url.pathname === '/1.0/kb/usages') {
      const delay = this.options.usageDelayMs ?? 0;
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      return this.recordUsage(res, Buffer.concat(chunks).toString('utf8'));
    }
    this.problems.unexpected++;
    send(res, 404, { 'content-type': 'application/json' }, '');
  }

  /** As Kill Bill takes a usage record (contract §3.1): shape, subscription, trackingId, then stored. */
  private recordUsage(res: ServerResponse, text: string): void {
    let body: UsageBody;
    try {
      body = JSON.parse(text) as UsageBody;
    } catch {
      return this.malformed(res, 'the body is not JSON');
    }
    const why = shapeProblem(body, this.units);
    if (why) return this.malformed(res, why);
    const subscriptionId = body.subscriptionId as string;
    const i = this.tenant.subscriptionIndex(subscriptionId);
    if (i === undefined) {
      this.problems.unknownSubscription++;
      const recorded = (this.usage.unknown.requestBody as UsageBody).subscriptionId as string;
      return this.answer(res, this.usage.unknown, recorded, subscriptionId);
    }
    const trackingId = body.trackingId as string;
    const key = `${i}:${trackingId}`;
    if (this.trackingIds.has(key)) {
      this.problems.duplicate++;
      const recorded = (this.usage.duplicate.requestBody as UsageBody).trackingId as string;
      return this.answer(res, this.usage.duplicate, recorded, trackingId);
    }
    this.trackingIds.add(key);
    for (const unit of body.unitUsageRecords!) {
      const at = i * this.units.length + this.units.indexOf(unit.unitType as string);
      for (const r of unit.usageRecords!) this.given[at] = this.given[at]! + (r.amount as number);
    }
    this.answer(res, this.usage.created);
  }

  /** A recorded answer, the recorded id in its body replaced by this call's. */
  private answer(res: ServerResponse, recorded: RecordedExchange, was?: string, now?: string): void {
    const text = recorded.body === null ? '' : JSON.stringify(recorded.body);
    send(res, recorded.status, recorded.headers, was && now ? text.replaceAll(was, now) : text);
  }

  /** Kill Bill's answer to a record missing a field: 400 with an IllegalArgumentException (contract §1.2). */
  private malformed(res: ServerResponse, message: string): void {
    this.problems.malformed++;
    const body = {
      className: 'java.lang.IllegalArgumentException',
      code: null,
      message,
      causeClassName: null,
      causeMessage: null,
      stackTrace: [],
    };
    send(res, 400, { 'content-type': 'application/json' }, JSON.stringify(body));
  }
}

/** Why a usage record is not what the bridge must send, or undefined. */
function shapeProblem(body: UsageBody, units: readonly string[]): string | undefined {
  if (typeof body.subscriptionId !== 'string') return 'subscriptionId needs to be set';
  if (typeof body.trackingId !== 'string' || body.trackingId === '') return 'trackingId needs to be set';
  if (body.trackingId.length > 128) return 'trackingId is longer than Kill Bill keeps (128)';
  const list = body.unitUsageRecords;
  if (!Array.isArray(list) || list.length === 0) return 'unitUsageRecords needs to be set';
  for (const unit of list) {
    if (typeof unit.unitType !== 'string' || !units.includes(unit.unitType))
      return `unknown unitType ${String(unit.unitType)}`;
    if (!Array.isArray(unit.usageRecords) || unit.usageRecords.length === 0)
      return 'usageRecords needs to be set';
    for (const r of unit.usageRecords) {
      if (typeof r.recordDate !== 'string' || Number.isNaN(Date.parse(r.recordDate)))
        return 'recordDate needs to be a date-time';
      // Kill Bill takes either; the bridge must send whole cents, and a credit, never negative usage.
      if (!Number.isSafeInteger(r.amount) || (r.amount as number) < 0)
        return `amount ${String(r.amount)} is not a whole, positive number of units`;
    }
  }
  return undefined;
}

function pageOf(url: URL): [number, number] {
  const offset = Number(url.searchParams.get('offset') ?? 0);
  const limit = Number(url.searchParams.get('limit') ?? DEFAULT_LIMIT);
  return [offset, limit];
}

function sendPage(res: ServerResponse, page: Page): void {
  send(res, 200, page.headers, page.body);
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
