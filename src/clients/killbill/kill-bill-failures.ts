import type { AxiosError } from 'axios';
import { KillBillError } from '../../errors/index.js';

/** Kill Bill's answer to a usage record whose tracking id it already has (contract §3.1). */
export const TRACKING_ID_ALREADY_EXISTS = 50000;
/** Kill Bill's answer to an exact duplicate custom field. */
export const CUSTOM_FIELD_ALREADY_EXISTS = 9000;

/**
 * Kill Bill 0.22's answer to an id of another tenant's object: a 500 ("Object id=… type=ACCOUNT doesn't
 * belong to tenant id=…") that no retry will change, e.g. a notification posted on the wrong tenant's path.
 */
const OTHER_TENANTS_OBJECT = /doesn't belong to tenant/;

/**
 * Kill Bill 0.22.26's answer to a catalog read at a date for a tenant that has no catalog at all (made
 * without useGlobalDefault): a 500 whose body is `{"className":"java.lang.IllegalStateException",…,
 * "message":"No existing versions in the VersionedCatalog catalog for input date …"}`, not a 404. Seen on
 * 0.22.26 only; what 0.24 answers here is not known, so only this exact answer is read as "no catalog".
 */
const NO_CATALOG_VERSION =
  /^500 \{"className":"java\.lang\.IllegalStateException",.*"message":"No existing versions in the VersionedCatalog catalog for input date /;

/** Whether a catalog read failed only because the tenant has no catalog yet (see {@link NO_CATALOG_VERSION}). */
export function isNoCatalogYet(err: KillBillError): boolean {
  return err.status === 500 && NO_CATALOG_VERSION.test(err.message.replace(/^Kill Bill .*? failed: /, ''));
}

/**
 * Whether a tenant lookup by API key failed only because Kill Bill has no tenant with that key. Kill Bill
 * 0.22.26 answers it with a 500 (`{"className":"java.lang.RuntimeException",…,"message":"java.lang.
 * IllegalStateException: TenantCacheLoader cannot find value for key <key>"}`), not the 404 it documents;
 * what 0.24 answers is not known, so only this exact answer, naming this key, is read as "no tenant".
 */
export function isNoTenantForKey(err: KillBillError, apiKey: string): boolean {
  const answer = err.message.replace(/^Kill Bill .*? failed: /, '');
  return (
    err.status === 500 &&
    answer === `500 java.lang.IllegalStateException: TenantCacheLoader cannot find value for key ${apiKey}`
  );
}

/** Turns an axios failure into a {@link KillBillError} that carries no credentials. */
export function toKillBillError(operation: string, err: unknown): KillBillError {
  if (err instanceof KillBillError) return err;
  if (!isAxiosError(err)) {
    return new KillBillError(
      operation,
      err instanceof Error ? err.message : String(err),
      undefined,
      null,
      true,
    );
  }
  const status = err.response?.status;
  // No answer at all: refused, reset, timed out. The request may or may not have been applied. A 2xx whose body
  // was cut off on the way (axios keeps its status) is no whole answer either: a retry may get one.
  if (status === undefined || (status >= 200 && status < 300))
    return noAnswerFailure(operation, err.code ?? err.message);
  return answeredFailure(operation, status, err.response?.data);
}

/** Kill Bill gave no answer (`why`: ECONNREFUSED, ECONNABORTED for a timeout, …): retryable. */
export function noAnswerFailure(operation: string, why: string): KillBillError {
  return new KillBillError(operation, `no answer (${why})`, undefined, null, true, why);
}

/** Kill Bill answered `status` (not 2xx) with `body`: its JSON error, or text. */
export function answeredFailure(operation: string, status: number, data: unknown): KillBillError {
  const body = data as { message?: unknown; code?: unknown } | string | undefined;
  const text =
    typeof body === 'object' && body !== null && typeof body.message === 'string'
      ? body.message
      : typeof body === 'string' && body !== ''
        ? body.slice(0, 200)
        : `HTTP ${status}`;
  const code = typeof body === 'object' && body !== null && typeof body.code === 'number' ? body.code : null;
  const retryable = (status >= 500 && !OTHER_TENANTS_OBJECT.test(text)) || status === 429 || status === 408;
  return new KillBillError(operation, `${status} ${text}`, status, code, retryable);
}

/** axios's own `isAxiosError`, without loading axios (generated-client.ts says why it loads late). */
function isAxiosError(err: unknown): err is AxiosError {
  return typeof err === 'object' && err !== null && (err as { isAxiosError?: unknown }).isAxiosError === true;
}
