import { Decimal } from 'decimal.js';

/**
 * Digits after the point for a currency (USD 2, JPY 0, BHD 3), from the ISO 4217 data Node ships, so the demo
 * and `bridge reconcile` show
 * `2.70 USD` as Kill Bill bills it rather than whatever a float prints.
 */
export function minorDigits(currency: string): number {
  try {
    const { maximumFractionDigits } = new Intl.NumberFormat('en', {
      style: 'currency',
      currency,
    }).resolvedOptions();
    return maximumFractionDigits ?? 2;
  } catch {
    // Not an ISO code Node knows: two digits, as for most currencies.
    return 2;
  }
}

/** An amount as Kill Bill returns it (JSON number or string), in the currency's digits, with its code. */
export function formatMoney(amount: number | string | undefined, currency: string): string {
  return `${formatAmount(amount, currency)} ${currency}`;
}

/** The amount alone, in the currency's digits, rounded half-up like Kill Bill. */
export function formatAmount(amount: number | string | undefined, currency: string): string {
  return new Decimal(String(amount ?? 0)).toFixed(minorDigits(currency), Decimal.ROUND_HALF_UP);
}
