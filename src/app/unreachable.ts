import { shownUrl } from '../config/masking.js';
import { KillBillError, networkReason, OpenStackRequestError, UnreachableError } from '../errors/index.js';

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
}

/** True for a failure to reach a server at all, as opposed to an answer refusing the request. */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof KillBillError || err instanceof OpenStackRequestError) return err.status === undefined;
  const e = (err ?? {}) as SystemError;
  if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return true;
  return (
    typeof e.message === 'string' &&
    /Connection is closed|ECONNREFUSED|ETIMEDOUT|All sentinels are unreachable/.test(e.message)
  );
}

export interface DependencyUrls {
  redis: string;
  killbill: string;
  /** CLOUDKITTY_URL, when set; else a CloudKitty found in the Keystone catalog is named by its origin. */
  cloudkitty?: string;
  keystone?: string;
}

/** The failure as "X at URL is unreachable (why)" when it is one, else undefined. */
export function unreachableOf(err: unknown, urls: DependencyUrls): UnreachableError | undefined {
  if (err instanceof UnreachableError) return err;
  if (err instanceof KillBillError) {
    return err.noAnswer === undefined
      ? undefined
      : new UnreachableError('killbill', shownUrl(urls.killbill), err.noAnswer);
  }
  if (err instanceof OpenStackRequestError) {
    if (err.status !== undefined) return undefined;
    const keystone = urls.keystone && err.url.startsWith(urls.keystone.replace(/\/+$/, ''));
    const base = keystone ? urls.keystone! : (urls.cloudkitty ?? new URL(err.url).origin);
    return new UnreachableError(
      keystone ? 'keystone' : 'cloudkitty',
      shownUrl(base),
      networkReason(err.serverMessage ?? ''),
    );
  }
  return undefined;
}
