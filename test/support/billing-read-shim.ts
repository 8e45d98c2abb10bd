/**
 * Kill Bill 0.22 (the newest war the Maven Central here serves) differs from 0.24 on the reads `bridge
 * reconcile` makes: an account's invoices come with their items on `withItems=true` (0.24:
 * `includeInvoiceComponents=true`), and usage is read between LocalDates (0.24 parses date-times). This
 * turns the 0.24 request into the 0.22 one: the flag renamed, each date-time cut to its UTC day (the
 * account-local date of the tests' UTC accounts). Anything else passes unchanged (undefined).
 * killbill-022-shim.ts applies it in front of a 0.22 server.
 */
export function readsFor022(path: string): string | undefined {
  if (/^\/1\.0\/kb\/accounts\/[^/]+\/invoices\?/.test(path))
    return path.replace('includeInvoiceComponents=true', 'withItems=true');
  if (path.startsWith('/1.0/kb/usages/'))
    return path.replace(/(startDate|endDate)=(\d{4}-\d{2}-\d{2})T[^&]*/g, '$1=$2');
  return undefined;
}
