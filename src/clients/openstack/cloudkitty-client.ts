import { summarySearchParams, type SummaryQuery, type SummaryRow } from './cloudkitty-summary.js';
import { readSummaryAnswer, type SummaryAnswer } from './summary-answer.js';
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
  /** Rows asked in a summary's first request. Default 1000 (CloudKitty's own default is 100; it has no maximum). */
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
/** Requests of one growing summary before giving up; each growth means CloudKitty rated meanwhile. */
const MAX_SUMMARY_RESTARTS = 5;

/** CloudKitty v2 API client: rated usage summaries (each one response, read as it arrives) and scope states. */
export class CloudKittyClient {
  private readonly fixedUrl: string | undefined;
  private readonly session: KeystoneSession | undefined;
  private readonly http: OpenStackHttp;
  /** Rows asked in a summary's first request (`cloudkitty.pageSize`); callers size time ranges to fit it. */
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
   * `GET /v2/summary`, the whole result in one response, never paged by offset: asked at `limit` (default the
   * page size) first and, when CloudKitty's `total` says it holds more, asked again with a limit of that
   * total. CloudKitty rebuilds the whole result for every request, so this costs at most two builds where
   * paging costs one per page (the square of the result), and one response is consistent by itself: nothing
   * to frame. A total that keeps growing (CloudKitty rating meanwhile) is asked again, a few times at most.
   * Rows come in CloudKitty's order (sorted by the groupby keys as given), each given to `keep` as it is read
   * (undefined drops it), so a large answer is never held whole.
   */
  async summary<K extends string, R = SummaryRow<K>>(
    query: SummaryQuery<K>,
    keep?: (row: SummaryRow<K>) => R | undefined,
  ): Promise<R[]> {
    let limit = positiveInteger(query.limit ?? this.pageSize, 'limit');
    for (let attempt = 1; ; attempt++) {
      const answer = await this.summaryAnswer(query, limit, keep);
      if (answer === 'none') return [];
      if (answer.total <= answer.received) return answer.rows;
      if (attempt >= MAX_SUMMARY_RESTARTS) {
        throw new SummaryUnstableError(
          `CloudKitty's summary grew each of ${attempt} times it was asked whole; try again later`,
        );
      }
      limit = Math.max(limit + 1, answer.total);
    }
  }

  /** One summary request, its rows read as they arrive; `none` for CloudKitty's 404 "No resource found". */
  private async summaryAnswer<K extends string, R>(
    query: SummaryQuery<K>,
    limit: number,
    keep: ((row: SummaryRow<K>) => R | undefined) | undefined,
  ): Promise<SummaryAnswer<R> | 'none'> {
    const rowAsIs = (row: SummaryRow<K>) => row as unknown as R;
    const request = {
      method: 'GET' as const,
      path: '/v2/summary',
      query: summarySearchParams(query, limit),
      readJson: (body: AsyncIterable<Uint8Array>) =>
        readSummaryAnswer(body, query.groupby, limit, keep ?? rowAsIs),
    };
    const { sent, response } = await this.call(request);
    if (response.status === 404 && NO_RESOURCE.test(serverMessage(response.body) ?? '')) return 'none';
    if (response.status !== 200) throw OpenStackHttp.errorFor(sent, response);
    const answer = response.body as SummaryAnswer<R> | { problem: string } | string | undefined;
    // Not read as it arrived: the answer was not JSON (or was empty).
    if (!answer || typeof answer !== 'object')
      throw malformedResponse(sent, response, 'summary response is not JSON');
    if ('problem' in answer) throw malformedResponse(sent, response, answer.problem);
    return answer;
  }

  /**
   * What the query covers, in one small row: CloudKitty's point count and sums over the whole range, without
   * groupby (cheap: no periods to fill). Rating a new period adds points; re-rating one changes a sum.
   * Two equal fingerprints frame requests that read one unchanged result; `none` when nothing matched.
   */
  async summaryFingerprint(query: SummaryQuery<string>): Promise<string> {
    const params = summarySearchParams({ ...query, groupby: [] }, 1);
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
   * as `total` > `received` (and its rows are not read). For callers that would rather ask a narrower query
   * than a larger one.
   */
  async summaryFirstPage<K extends string, R = SummaryRow<K>>(
    query: SummaryQuery<K>,
    keep?: (row: SummaryRow<K>) => R | undefined,
  ): Promise<SummaryAnswer<R>> {
    const limit = positiveInteger(query.limit ?? this.pageSize, 'limit');
    const answer = await this.summaryAnswer(query, limit, keep);
    return answer === 'none' ? { total: 0, received: 0, rows: [] } : answer;
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
    readJson?: OpenStackHttpRequest['readJson'];
  }): Promise<{ sent: OpenStackHttpRequest; response: OpenStackHttpResponse }> {
    for (let renewed = false; ; renewed = true) {
      const base = this.fixedUrl ?? (await (this.session as KeystoneSession).ratingEndpoint());
      const url = new URL(`${base}${request.path}`);
      if (request.query) url.search = request.query.toString();
      const headers: Record<string, string> = {};
      if (this.session) headers['X-Auth-Token'] = await this.session.token();
      const sent: OpenStackHttpRequest = { method: request.method, url, headers, readJson: request.readJson };
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
