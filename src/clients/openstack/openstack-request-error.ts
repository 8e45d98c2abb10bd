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
export class OpenStackRequestError extends Error {
  override readonly name: string = 'OpenStackRequestError';
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;
  readonly serverMessage: string | undefined;
  readonly attempts: number;

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
  }
}
