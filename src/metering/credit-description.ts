import { parseTrackingId, type TrackingIdParts } from './tracking-id.js';

/**
 * A downward correction of a period Kill Bill may already have invoiced is made as an account credit, never as
 * negative usage (Kill Bill parks the account then). Kill Bill gives credits no idempotency key, so ours lives
 * in the credit item's description: `osb1-credit <tracking id> <unit type>`. Finding it on the account before
 * crediting again makes a retried credit happen once, and lets `reconcile` tie each credit to its window.
 */
export const CREDIT_DESCRIPTION_PREFIX = 'osb1-credit';

const UNIT_TYPE = /^[A-Za-z0-9_.-]{1,100}$/;

export interface CreditDescriptionParts extends TrackingIdParts {
  readonly trackingId: string;
  readonly unitType: string;
}

export function formatCreditDescription(trackingId: string, unitType: string): string {
  if (!parseTrackingId(trackingId)) throw new TypeError(`not a bridge tracking id: ${trackingId}`);
  if (!UNIT_TYPE.test(unitType)) throw new TypeError(`unit type not usable in a credit: ${unitType}`);
  return `${CREDIT_DESCRIPTION_PREFIX} ${trackingId} ${unitType}`;
}

/** The parts of one of our credit descriptions; null for any other credit (an operator's, another tool's). */
export function parseCreditDescription(
  description: string | null | undefined,
): CreditDescriptionParts | null {
  const [prefix, trackingId, unitType, ...rest] = (description ?? '').split(' ');
  if (prefix !== CREDIT_DESCRIPTION_PREFIX || !trackingId || !unitType || rest.length > 0) return null;
  if (!UNIT_TYPE.test(unitType)) return null;
  const parts = parseTrackingId(trackingId);
  return parts ? { ...parts, trackingId, unitType } : null;
}
