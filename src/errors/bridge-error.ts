/**
 * The ids an operator or a worker needs to act on a failure; each error carries those that apply. The
 * names are those of the log lines, so a failure and the lines around it are found by the same field.
 */
export interface ErrorIds {
  /** The Kill Bill tenant's API key (never its secret). */
  tenant?: string;
  accountId?: string;
  subscriptionId?: string;
  /** The start of a usage window, as an ISO instant. */
  window?: string;
  /** A Kill Bill usage unit, e.g. `openstack-billed-instance`. */
  unit?: string;
}

export interface BridgeErrorOptions {
  ids?: ErrorIds;
  cause?: unknown;
}

/**
 * Every error the bridge names. `retryable` says whether the same work may succeed later unchanged: a
 * worker fails a job at once when it is false, and retries it with backoff when it is true.
 */
export abstract class BridgeError extends Error {
  abstract readonly retryable: boolean;
  readonly ids: ErrorIds;

  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.ids = options.ids ?? {};
  }
}

/** Whether trying the same work again later may succeed: the error's own verdict; an unnamed one, yes. */
export function isRetryable(err: unknown): boolean {
  return err instanceof BridgeError ? err.retryable : true;
}

/**
 * An HTTP status a retry may change: none (no answer), a 5xx, 408 or 429. Any other 4xx refuses the
 * request itself, and the same request would be refused again.
 */
export function retryableStatus(status: number | undefined): boolean {
  return status === undefined || status < 400 || status >= 500 || status === 408 || status === 429;
}

/** The ids of an error and of the errors that caused it, for a log line's fields; the outermost wins. */
export function errorIds(err: unknown): ErrorIds {
  const chain: BridgeError[] = [];
  for (let e: unknown = err; e instanceof Error && chain.length < 8; e = e.cause) {
    if (e instanceof BridgeError) chain.unshift(e);
  }
  const ids: Record<string, string> = {};
  for (const e of chain) {
    for (const [key, value] of Object.entries(e.ids)) if (value !== undefined) ids[key] = value;
  }
  return ids as ErrorIds;
}
