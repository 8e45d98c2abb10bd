import { FaultProxy } from './fault-proxy.js';

/**
 * Kill Bill 0.22 (the newest war the Maven Central here serves) differs from 0.24 on the reads `bridge
 * reconcile` makes: an account's invoices come with their items on `withItems=true` (0.24:
 * `includeInvoiceComponents=true`), and usage is read between LocalDates (0.24 parses date-times). This
 * turns the 0.24 request into the 0.22 one: the flag renamed, each date-time cut to its UTC day (the
 * account-local date of the tests' UTC accounts). Anything else passes unchanged (undefined).
 */
export function readsFor022(path: string): string | undefined {
  if (/^\/1\.0\/kb\/accounts\/[^/]+\/invoices\?/.test(path))
    return path.replace('includeInvoiceComponents=true', 'withItems=true');
  if (path.startsWith('/1.0/kb/usages/'))
    return path.replace(/(startDate|endDate)=(\d{4}-\d{2}-\d{2})T[^&]*/g, '$1=$2');
  return undefined;
}

export interface BillingReadShim {
  url: string;
  /** Requests rewritten so far. */
  readonly rewritten: number;
  close(): Promise<void>;
}

/** A pass-through proxy to `target` that applies {@link readsFor022}, and counts what it changed. */
export async function startBillingReadShim(target: string): Promise<BillingReadShim> {
  const proxy = await FaultProxy.start(target);
  let rewritten = 0;
  proxy.rewritePath = (req) => {
    const path = readsFor022(req.path);
    if (path !== undefined && path !== req.path) rewritten++;
    return path;
  };
  return {
    url: proxy.url,
    get rewritten() {
      return rewritten;
    },
    close: () => proxy.close(),
  };
}
