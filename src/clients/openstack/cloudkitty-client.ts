import {
  readSummaryPage,
  summarySearchParams,
  type SummaryPage,
  type SummaryQuery,
  type SummaryRow,
} from './cloudkitty-summary.js';
import { parseCloudKittyTime } from './cloudkitty-time.js';
import type { KeystoneSession } from './keystone-session.js';
import {
  baseUrl,
  malformedResponse,
  OpenStackHttp,
  serverMessage,
  type OpenStackHttpOptions,
  type OpenStackHttpRequest,
  type OpenStackHttpResponse,
} from './openstack-http.js';
import { SummaryUnstableError } from '../../errors/index.js';

export type CloudKittyClientOptions = OpenStackHttpOptions & {
  /** Rows per summary request. Default 1000 (CloudKitty's own default is 100; it has no maximum). */
  pageSize?: number;
} & (
    | {
        /** Fixed CloudKitty base URL (CLOUDKITTY_URL), e.g. `http://127.0.0.1:8889`: a noauth CloudKitty. */
        url: string;
        session?: undefined;
      }
    | {
        /** Keystone session: endpoint from its catalog, token in `X-Auth-Token`. */
        session: KeystoneSession;
        url?: undefined;
      }
  );

/** One rating scope's processing state, from `GET /v2/scope`. */
export interface ScopeState {
  scopeId: string;
  scopeKey: string;
  fetcher: string;
  collector: string;
  /** Everything before this time has been rated by cloudkitty-processor. */
  lastProcessedTimestamp: Date | null;
  active: boolean;
}

const NO_RESOURCE = /^No resource found/;
/** Points and sums of a summary's whole range: they move whenever CloudKitty rates or re-rates in it. */
const FINGERPRINT_FIELDS = 'COUNT(price) AS n, SUM(qty) AS qty, SUM(price) AS rate';
/** Passes over a moving summary before giving up; each restart means CloudKitty rated meanwhile. */
const MAX_SUMMARY_RESTARTS = 5;

/** What identifies a summary row: its period and its groupby values. */
function summaryRowKey<K extends string>(row: SummaryRow<K>, groupby: readonly K[]): string {
  const r = row as unknown as Record<string, unknown>;
  const tags = groupby.filter((k) => k !== 'time').map((k) => String(r[k] ?? ''));
  return JSON.stringify([row.begin.getTime(), row.end.getTime(), ...tags]);
}

/** CloudKitty v2 API client: rated usage summaries (paged) and scope states. */
export class CloudKittyClient {
  private readonly fixedUrl: string | undefined;
  private readonly session: KeystoneSession | undefined;
  private readonly http: OpenStackHttp;
  /** Rows per summary request (`cloudkitty.pageSize`); callers size their time ranges to fit one page. */
  readonly pageSize: number;

  constructor(options: CloudKittyClientOptions) {
    if (options.session === undefined && !options.url)
      throw new TypeError('CloudKittyClient needs url or session');
    this.fixedUrl = options.url === undefined ? undefined : baseUrl(options.url, 'CloudKitty url');
    this.session = options.session;
    this.pageSize = positiveInteger(options.pageSize ?? 1000, 'pageSize');
    this.http = new OpenStackHttp(options);
  }

  /**
   * `GET /v2/summary`, every page: requests `offset` = 0, limit, 2·limit, ... until CloudKitty's
   * `total`. One request when it fits one page (or there is nothing); otherwise ⌈total / limit⌉ + 3: the
   * first page, which tells there are more, then the pages between two fingerprints (see summaryPages).
   * Rows come in CloudKitty's order (sorted by the groupby keys as given).
   */
  async summary<K extends string>(query: SummaryQuery<K>): Promise<SummaryRow<K>[]> {
    const limit = positiveInteger(query.limit ?? this.pageSize, 'limit');
    for (let attempt = 1; ; attempt++) {
      const rows = await this.summaryPages(query, limit);
      if (rows) return rows;
      if (attempt >= MAX_SUMMARY_RESTARTS) {
        throw new SummaryUnstableError(
          `CloudKitty's summary kept changing while it was paged (${attempt} tries); try again later`,
        );
      }
    }
  }

  /**
   * One pass over the pages, or null when the result moved under it. CloudKitty rebuilds and re-sorts
   * the whole result for every page, so a project rated between two requests shifts the rows: a page
   * can then repeat rows of the one before, or skip some; that shows as a changed `total` or a row key
   * seen twice. A series already in the result that is rated for more periods (or re-rated) changes
   * rows in place instead: same total, same order, and a row read on an earlier page keeps its old value
   * (an empty period stays empty). So a pass of more than one page is framed by two fingerprints of the
   * data it covers; any difference, like any moved row, throws the pass away rather than count anything
   * twice or miss it. One page is one response: consistent by itself.
   */
  private async summaryPages<K extends string>(
    query: SummaryQuery<K>,
    limit: number,
  ): Promise<SummaryRow<K>[] | null> {
    const first = await this.summaryPage(query, 0, limit);
    if (first === 'none' || first.total <= first.rows.length) return first === 'none' ? [] : first.rows;
    const before = await this.summaryFingerprint(query);
    const rows = await this.allPages(query, limit);
    if (!rows) return null;
    return (await this.summaryFingerprint(query)) === before ? rows : null;
  }

  /** Every page from offset 0, or null when `total` moved, a row showed twice or rows vanished. */
  private async allPages<K extends string>(
    query: SummaryQuery<K>,
    limit: number,
  ): Promise<SummaryRow<K>[] | null> {
    const rows: SummaryRow<K>[] = [];
    const keys = new Set<string>();
    let total: number | undefined;
    for (let offset = 0; ;) {
      const page = await this.summaryPage(query, offset, limit);
      if (page === 'none') return total === undefined ? rows : null;
      if (total !== undefined && page.total !== total) return null;
      total = page.total;
      for (const row of page.rows) {
        const key = summaryRowKey(row, query.groupby);
        if (keys.has(key)) return null;
        keys.add(key);
        rows.push(row);
      }
      offset += page.rows.length;
      // An empty page before `total` means rows vanished meanwhile: the result moved.
      if (offset >= page.total) return rows;
      if (page.rows.length === 0) return null;
    }
  }

  /** One summary page; `none` for CloudKitty's 404 "No resource found" (nothing matched). */
  private async summaryPage<K extends string>(
    query: SummaryQuery<K>,
    offset: number,
    limit: number,
  ): Promise<SummaryPage<K> | 'none'> {
    const request = {
      method: 'GET' as const,
      path: '/v2/summary',
      query: summarySearchParams(query, offset, limit),
    };
    const { sent, response } = await this.call(request);
    if (response.status === 404 && NO_RESOURCE.test(serverMessage(response.body) ?? '')) return 'none';
    if (response.status !== 200) throw OpenStackHttp.errorFor(sent, response);
    const page = readSummaryPage(response.body, query.groupby);
    if (typeof page === 'string') throw malformedResponse(sent, response, page);
    return page;
  }

  /**
   * What the query covers, in one small row: CloudKitty's point count and sums over the whole range, without
   * groupby (cheap: no periods to fill). Rating a new period adds points; re-rating one changes a sum.
   * Two equal fingerprints frame requests that read one unchanged result; `none` when nothing matched.
   */
  async summaryFingerprint(query: SummaryQuery<string>): Promise<string> {
    const params = summarySearchParams({ ...query, groupby: [] }, 0, 1);
    params.set('custom_fields', FINGERPRINT_FIELDS);
    const { sent, response } = await this.call({ method: 'GET', path: '/v2/summary', query: params });
    if (response.status === 404 && NO_RESOURCE.test(serverMessage(response.body) ?? '')) return 'none';
    if (response.status !== 200) throw OpenStackHttp.errorFor(sent, response);
    const body = response.body as { total?: unknown; results?: unknown } | undefined;
    if (typeof body?.total !== 'number' || !Array.isArray(body.results)) {
      throw malformedResponse(sent, response, 'summary response has no numeric total or no results array');
    }
    return JSON.stringify(body.results);
  }

  /**
   * One request: the first page of a summary and CloudKitty's `total`; a result larger than the page shows
   * as `total` > `rows.length`. For callers that would rather ask a narrower query than page this one.
   */
  async summaryFirstPage<K extends string>(query: SummaryQuery<K>): Promise<SummaryPage<K>> {
    const page = await this.summaryPage(query, 0, positiveInteger(query.limit ?? this.pageSize, 'limit'));
    return page === 'none' ? { total: 0, rows: [] } : page;
  }

  /**
   * `GET /v2/scope`: the processing state of every scope (or of `scopeIds`). Only
   * cloudkitty-processor creates scopes; none (CloudKitty's 404) gives an empty list.
   */
  async scopes(filter: { scopeIds?: readonly string[] } = {}): Promise<ScopeState[]> {
    const states: ScopeState[] = [];
    for (let offset = 0; ;) {
      const query = new URLSearchParams({ limit: String(this.pageSize), offset: String(offset) });
      if (filter.scopeIds?.length) query.set('scope_id', filter.scopeIds.join(','));
      const { sent, response } = await this.call({ method: 'GET', path: '/v2/scope', query });
      if (response.status === 404 && NO_RESOURCE.test(serverMessage(response.body) ?? '')) return states;
      if (response.status !== 200) throw OpenStackHttp.errorFor(sent, response);
      const results = (response.body as { results?: unknown } | undefined)?.results;
      if (!Array.isArray(results))
        throw malformedResponse(sent, response, 'scope response has no results array');
      for (const r of results) {
        const state = readScopeState(r);
        if (!state) throw malformedResponse(sent, response, `unexpected scope entry ${JSON.stringify(r)}`);
        states.push(state);
      }
      // This endpoint reports no total; a short page is the last one.
      if (results.length < this.pageSize) return states;
      offset += results.length;
    }
  }

  private async call(request: {
    method: 'GET';
    path: string;
    query?: URLSearchParams;
  }): Promise<{ sent: OpenStackHttpRequest; response: OpenStackHttpResponse }> {
    for (let renewed = false; ; renewed = true) {
      const base = this.fixedUrl ?? (await (this.session as KeystoneSession).ratingEndpoint());
      const url = new URL(`${base}${request.path}`);
      if (request.query) url.search = request.query.toString();
      const headers: Record<string, string> = {};
      if (this.session) headers['X-Auth-Token'] = await this.session.token();
      const sent: OpenStackHttpRequest = { method: request.method, url, headers };
      const response = await this.http.send(sent);
      // A token can die before its expiry (revoked, keys rotated): renew once, then believe the 401.
      if (response.status === 401 && this.session && !renewed) {
        this.session.invalidate();
        continue;
      }
      return { sent, response };
    }
  }
}

function readScopeState(entry: unknown): ScopeState | undefined {
  const r = entry as Record<string, unknown> | null;
  if (!r || typeof r.scope_id !== 'string') return undefined;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const last = r.last_processed_timestamp ?? null;
  const lastProcessedTimestamp = last === null ? null : parseCloudKittyTime(last);
  if (lastProcessedTimestamp === undefined) return undefined;
  return {
    scopeId: r.scope_id,
    scopeKey: text(r.scope_key),
    fetcher: text(r.fetcher),
    collector: text(r.collector),
    lastProcessedTimestamp,
    active: r.active !== false,
  };
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
