import { BridgeError, retryableStatus, type BridgeErrorOptions } from './bridge-error.js';

/**
 * A service the bridge calls (Kill Bill, CloudKitty, Keystone, Heat, Redis) failed. `retryable` is the
 * answer's verdict: a refusal of the request itself (a 4xx) is not; no answer, a 5xx, 408 or 429 is.
 */
export abstract class UpstreamError extends BridgeError {}

/**
 * A Kill Bill call that failed. `retryable` is true when trying again later may succeed (the server is
 * down, busy or answered 5xx); false when the request itself is wrong and a retry would fail the same way.
 */
export class KillBillError extends UpstreamError {
  readonly operation: string;
  readonly status: number | undefined;
  /** Kill Bill's ErrorCode number from the BillingException JSON, when it sent one. */
  readonly code: number | null;
  readonly retryable: boolean;
  /** Why Kill Bill gave no answer at all (`ECONNREFUSED`, `ETIMEDOUT`, …); undefined when it answered. */
  readonly noAnswer: string | undefined;

  constructor(
    operation: string,
    message: string,
    status: number | undefined,
    code: number | null,
    retryable: boolean,
    noAnswer?: string,
    options?: BridgeErrorOptions,
  ) {
    super(`Kill Bill ${operation} failed: ${message}`, options);
    this.operation = operation;
    this.status = status;
    this.code = code;
    this.retryable = retryable;
    this.noAnswer = noAnswer;
  }
}

export interface OpenStackRequestErrorDetails {
  method: string;
  /** The request URL with any user-info removed; OpenStack URLs carry no secret in the query. */
  url: string;
  /** HTTP status, or undefined when no response arrived (connection refused, timeout, DNS). */
  status?: number;
  /** The server's own message (CloudKitty `message`, Keystone `error.message`), or the network failure. */
  serverMessage?: string;
  /** How many HTTP attempts were made before giving up. */
  attempts: number;
}

/** An OpenStack API call that failed for good: after retries for 5xx and network errors, at once otherwise. */
export class OpenStackRequestError extends UpstreamError {
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  readonly serverMessage: string | undefined;
  readonly attempts: number;
  readonly retryable: boolean;

  constructor(details: OpenStackRequestErrorDetails) {
    const outcome = details.status === undefined ? 'no response' : `HTTP ${details.status}`;
    const tries = details.attempts > 1 ? ` after ${details.attempts} attempts` : '';
    const why = details.serverMessage ? `: ${details.serverMessage}` : '';
    super(`${details.method} ${details.url} failed with ${outcome}${tries}${why}`);
    this.method = details.method;
    this.url = details.url;
    this.status = details.status;
    this.serverMessage = details.serverMessage;
    this.attempts = details.attempts;
    this.retryable = retryableStatus(details.status);
  }
}

/** Keystone refused the credentials, or an OpenStack service refused the token (401) or the action (403). */
export class OpenStackAuthError extends OpenStackRequestError {}

/** Heat answered 404 for a stack: it has none by that id (and name) in that project, not even deleted. */
export class HeatStackNotFoundError extends OpenStackRequestError {}

/** The summary changed under every pass: CloudKitty is rating faster than one pull reads. Retryable. */
export class SummaryUnstableError extends UpstreamError {
  readonly retryable = true;
}
