/**
 * Kill Bill 0.22 (the newest war the Maven Central here serves) reads `UsageRecord.recordDate` as a
 * LocalDate and answers 400 ("…is malformed at T…") to the date-time the bridge sends for 0.24. This cuts
 * each recordDate of a usage POST to its UTC day, the account-local date of the tests' UTC accounts; any
 * other request is left alone (undefined). killbill-022-shim.ts applies it in front of a 0.22 server.
 */
export function usageWithLocalDates(req: { method: string; path: string; body: string }): string | undefined {
  if (req.method !== 'POST' || !req.path.startsWith('/1.0/kb/usages')) return undefined;
  return req.body.replace(/("recordDate":")(\d{4}-\d{2}-\d{2})T[^"]*"/g, '$1$2"');
}

/** How many recordDates {@link usageWithLocalDates} cuts in this body. */
export function recordDatesCut(req: { method: string; path: string; body: string }): number {
  if (usageWithLocalDates(req) === undefined) return 0;
  return (req.body.match(/"recordDate":"\d{4}-\d{2}-\d{2}T/g) ?? []).length;
}
