import type { AxiosResponse } from 'axios';
import type { BundleApi, CustomFieldApi, Account, Bundle, CustomField } from 'killbill';
import { generated } from './generated-client.js';
import { KillBillError } from '../../errors/index.js';
import type { KillBillClient } from './killbill-client.js';

/** Rows per page when none is asked for: 10,000 accounts then cost tens of calls, not tens of thousands. */
export const DEFAULT_PAGE_SIZE = 1000;

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

  constructor(
    private readonly kb: KillBillClient,
    readonly pageSize = DEFAULT_PAGE_SIZE,
  ) {
    this.bundleApi = kb.api(generated().BundleApi);
    this.fieldApi = kb.api(generated().CustomFieldApi);
  }

  /** Every account of the tenant. */
  accounts(): AsyncGenerator<Account[]> {
    return this.pages('list accounts', (offset, limit) => this.kb.accounts.getAccounts(offset, limit));
  }

  /** Every bundle of the tenant, each with its subscriptions (cancelled ones too). */
  bundles(): AsyncGenerator<Bundle[]> {
    return this.pages('list bundles', (offset, limit) => this.bundleApi.getBundles(offset, limit));
  }

  /** Every custom field of the tenant, on any kind of object. */
  customFields(): AsyncGenerator<CustomField[]> {
    return this.pages('list custom fields', (offset, limit) => this.fieldApi.getCustomFields(offset, limit));
  }

  private async *pages<T>(
    operation: string,
    fetch: (offset: number, limit: number) => Promise<AxiosResponse<T[]>>,
  ): AsyncGenerator<T[]> {
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const at: number = offset;
      const res = await this.kb.call(operation, () => fetch(at, this.pageSize));
      // Kill Bill 0.22.26 stops counting a listing past some size (no TotalNbRecords header) and then names
      // a next offset after every page, the empty ones past the end too: an empty page is the end.
      if ((res.data ?? []).length === 0) return;
      yield res.data;
      offset = nextOffset(operation, res.headers['x-killbill-pagination-nextoffset'], at);
    }
  }
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
