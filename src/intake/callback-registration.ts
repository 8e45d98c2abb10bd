import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import { tokenHint } from './callback-token.js';

/**
 * The URL Kill Bill is told to call for a tenant. Kill Bill sends no tenant and no signature, so the
 * tenant travels in the path and the secret in the query (contract §2.6).
 */
export function callbackUrl(publicUrl: string, token: string, tenantApiKey?: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  const path = tenantApiKey
    ? `/killbill/notifications/${encodeURIComponent(tenantApiKey)}`
    : '/killbill/notifications';
  return `${base}${path}?token=${encodeURIComponent(token)}`;
}

/** The URL with its token hidden, for logs and `bridge setup`. */
export function maskCallbackUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/, '$1********');
}

/** The URL with only the start of its token, so a person can tell whose token it is. */
export function hintCallbackUrl(url: string): string {
  return url.replace(
    /([?&]token=)([^&]*)/,
    (_m, head: string, token: string) => `${head}${tokenHint(token)}`,
  );
}

export type RegistrationOutcome = 'registered' | 'already-registered';

/**
 * Registers the callback unless Kill Bill already holds exactly this URL. Kill Bill keeps one URL per
 * tenant, so registering replaces whatever was there; that is logged, since it may be another bridge's.
 */
export async function ensureCallbackRegistered(
  client: KillBillClient,
  url: string,
  logger: Logger,
): Promise<RegistrationOutcome> {
  const current = await client.getCallbacks();
  if (current.includes(url)) {
    logger.info(
      { event: 'callback.already_registered', tenant: client.apiKey, url: maskCallbackUrl(url) },
      'callback already registered',
    );
    return 'already-registered';
  }
  await client.registerCallback(url);
  logger.info(
    {
      event: 'callback.registered',
      tenant: client.apiKey,
      url: maskCallbackUrl(url),
      replaced: current.map(maskCallbackUrl),
    },
    'callback registered with Kill Bill',
  );
  return 'registered';
}
