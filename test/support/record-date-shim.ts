import { FaultProxy } from './fault-proxy.js';

/**
 * Kill Bill 0.22 (the newest war the Maven Central here serves) reads `UsageRecord.recordDate` as a
 * LocalDate and answers 400 ("…is malformed at T…") to the date-time the bridge sends for 0.24. This cuts
 * each recordDate of a usage POST to its UTC day, the account-local date of the tests' UTC accounts; any
 * other request is left alone (undefined).
 */
export function usageWithLocalDates(req: { method: string; path: string; body: string }): string | undefined {
  if (req.method !== 'POST' || !req.path.startsWith('/1.0/kb/usages')) return undefined;
  return req.body.replace(/("recordDate":")(\d{4}-\d{2}-\d{2})T[^"]*"/g, '$1$2"');
}

export interface RecordDateShim {
  url: string;
  /** recordDates cut to a date so far. */
  readonly rewritten: number;
  close(): Promise<void>;
}

/** A pass-through proxy to `target` that applies {@link usageWithLocalDates}, and counts what it cut. */
export async function startRecordDateShim(target: string): Promise<RecordDateShim> {
  const proxy = await FaultProxy.start(target);
  let rewritten = 0;
  proxy.rewriteBody = (req) => {
    const body = usageWithLocalDates(req);
    if (body !== undefined) rewritten += (req.body.match(/"recordDate":"\d{4}-\d{2}-\d{2}T/g) ?? []).length;
    return body;
  };
  return {
    url: proxy.url,
    get rewritten() {
      return rewritten;
    },
    close: () => proxy.close(),
  };
}
