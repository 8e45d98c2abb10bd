import type { Invoice, InvoiceItem } from 'killbill';
import { Decimal } from 'decimal.js';
import { formatAmount, formatMoney } from './money.js';

/**
 * The units a USAGE item prices, from its itemDetails (Kill Bill 0.24: `{"tierDetails":[{"tierUnit":…}]}`
 * in AGGREGATE mode, one `{"tierUnit":…}` per item in DETAIL mode). Empty when Kill Bill gave none.
 */
export function unitsOf(item: InvoiceItem): string[] {
  if (!item.itemDetails) return [];
  try {
    const details = JSON.parse(item.itemDetails) as { tierUnit?: unknown; tierDetails?: unknown };
    const tiers = Array.isArray(details.tierDetails) ? (details.tierDetails as unknown[]) : [details];
    return tiers
      .map((t) => (t && typeof t === 'object' ? (t as { tierUnit?: unknown }).tierUnit : undefined))
      .filter((u): u is string => typeof u === 'string');
  } catch {
    return [];
  }
}

/**
 * Lines of one account's dry-run invoice. A zero line is shown only for a unit the subscription meters
 * (it says "metered, nothing used"); for a unit it does not meter it would read as a charge that is not.
 */
export function invoicePreviewLines(
  name: string,
  invoice: Invoice | null,
  meteredUnits: readonly string[],
): string[] {
  if (!invoice) return [`${name}: nothing to invoice yet`];
  const currency = invoice.currency ?? 'USD';
  const shown = (invoice.items ?? []).filter((i) => {
    if (!new Decimal(String(i.amount ?? 0)).isZero()) return true;
    return i.itemType === 'USAGE' && unitsOf(i).some((u) => meteredUnits.includes(u));
  });
  return [
    `${name}: ${formatMoney(invoice.amount, currency)}`,
    ...shown.map(
      (i) =>
        `  ${i.itemType} ${i.usageName ?? i.planName ?? ''} ${formatAmount(i.amount, currency)} ` +
        `(${i.startDate} → ${i.endDate})`,
    ),
  ];
}
