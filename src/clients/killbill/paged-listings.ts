import type { Readable } from 'node:stream';
import type { AxiosRequestConfig, AxiosResponse } from 'axios';
import type { BundleApi, CustomFieldApi, Account, Bundle, CustomField } from 'killbill';
import { generated } from './generated-client.js';
import { answerBody, answeredFailure } from './kill-bill-failures.js';
import { listingElements } from './listing-elements.js';
import { KillBillError } from '../../errors/index.js';
import type { KillBillClient } from './killbill-client.js';

/**
 * Rows per page when none is asked for. A page is read as it arrives, so its size costs the bridge no memory;
 * Kill Bill builds a whole page before it sends it, and served 10,000 accounts about as fast in pages of 1,000
 * as in one (BENCHMARKS.md), so pages stay small enough to answer well within a call's time.
 */
export const DEFAULT_PAGE_SIZE = 1000;
/** A page's timeout when none is asked for: Kill Bill builds the whole page before it sends its first byte. */
export const DEFAULT_PAGE_TIMEOUT_MS = 120_000;
/** Objects handed on at a time while a page arrives. */
const BATCH = 500;
type Fetch = (offset: number, limit: number, options: AxiosRequestConfig) => Promise<AxiosResponse<unknown>>;

/**
 * A whole tenant from Kill Bill's `/pagination` listings, one page per call, each page handed on before the
 * next is asked for, so a caller holds one page at a time. Pages follow `X-Killbill-Pagination-NextOffset`,
 * which Kill Bill leaves out on the last page (contract §1.3). Kill Bill 0.22 has no search of custom
 * fields by object type (`/customFields/search?objectType=` answers 400), so fields come from the listing
 * of every field of the tenant.
 */
export class PagedListings {
  private readonly bundleApi: BundleApi;
  private readonly fieldApi: CustomFieldApi;
  private readonly streamed: AxiosRequestConfig;

  constructor(
    private readonly kb: KillBillClient,
    readonly pageSize = DEFAULT_PAGE_SIZE,
    pageTimeoutMs = DEFAULT_PAGE_TIMEOUT_MS,
  ) {
    // Every page is read as a stream, whatever its status: an error's body is read whole, a page's split.
    this.streamed = { responseType: 'stream', validateStatus: () => true, timeout: pageTimeoutMs };
    this.bundleApi = kb.api(generated().BundleApi);
    this.fieldApi = kb.api(generated().CustomFieldApi);
  }

  /** Every account of the tenant, a part of a page at a time. */
  accounts(): AsyncGenerator<Account[]> {
    return this.pages('list accounts', (offset, limit, options) =>
      this.kb.accounts.getAccounts(offset, limit, undefined, undefined, undefined, options),
    );
  }

  /** Every bundle of the tenant, each with its subscriptions (cancelled ones too). */
  bundles(): AsyncGenerator<Bundle[]> {
    return this.pages('list bundles', (offset, limit, options) =>
      this.bundleApi.getBundles(offset, limit, undefined, options),
    );
  }

  /** Every custom field of the tenant, on any kind of object. */
  customFields(): AsyncGenerator<CustomField[]> {
    return this.pages('list custom fields', (offset, limit, options) =>
      this.fieldApi.getCustomFields(offset, limit, undefined, options),
    );
  }

  private async *pages<T>(operation: string, fetch: Fetch): AsyncGenerator<T[]> {
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const at: number = offset;
      const res = await this.kb.call(operation, () =>
        answered(operation, fetch(at, this.pageSize, this.streamed)),
      );
      let rows = 0;
      for await (const part of listingElements<T>(operation, res.data as Readable, BATCH)) {
        rows += part.length;
        yield part;
      }
      // Kill Bill 0.22.26 stops counting a listing past some size (no TotalNbRecords header) and then names
      // a next offset after every page, the empty ones past the end too: an empty page is the end.
      if (rows === 0) return;
      offset = nextOffset(operation, res.headers['x-killbill-pagination-nextoffset'], at);
    }
  }
}

/** The page's answer once it is a 2xx; any other status fails with its body, read whole (an error is short). */
async function answered(operation: string, call: Promise<AxiosResponse<unknown>>) {
  const res = await call;
  if (res.status >= 200 && res.status < 300) return res;
  const chunks: Buffer[] = [];
  for await (const chunk of res.data as Readable) chunks.push(chunk as Buffer);
  throw answeredFailure(operation, res.status, answerBody(Buffer.concat(chunks).toString('utf8')));
}

/** The next page's offset; undefined after the last page. */
function nextOffset(operation: string, header: unknown, current: number): number | undefined {
  if (header === undefined || header === null || header === '') return undefined;
  const next = Number(header);
  // One that does not move on would ask for the same page forever; a reading cut short would drop accounts.
  if (!Number.isSafeInteger(next) || next <= current)
    throw new KillBillError(
      operation,
      `next page offset "${String(header)}" after ${current}`,
      200,
      null,
      false,
    );
  return next;
}
