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

/** The cluster (Heat stack) a subscription bills, as the registry knows it. */
export interface Cluster {
  stackId: string | null;
  stackName: string | null;
}

/**
 * Lines of one account's dry-run invoice. A zero line is shown only for a unit the subscription meters
 * (it says "metered, nothing used"); for a unit it does not meter it would read as a charge that is not.
 * An account with cluster subscriptions gets its lines grouped per cluster, headed by its name and Heat
 * stack id, as concertim shows an invoice; items of no subscription (credits, say) come last.
 */
export function invoicePreviewLines(
  name: string,
  invoice: Invoice | null,
  meteredUnits: readonly string[],
  clusters: Readonly<Record<string, Cluster>> = {},
): string[] {
  if (!invoice) return [`${name}: nothing to invoice yet`];
  const currency = invoice.currency ?? 'USD';
  const shown = (invoice.items ?? []).filter((i) => {
    if (!new Decimal(String(i.amount ?? 0)).isZero()) return true;
    return i.itemType === 'USAGE' && unitsOf(i).some((u) => meteredUnits.includes(u));
  });
  const line = (i: InvoiceItem, indent: string) =>
    `${indent}${i.itemType} ${i.usageName ?? i.planName ?? ''} ${formatAmount(i.amount, currency)} ` +
    `(${i.startDate} → ${i.endDate})`;
  const head = `${name}: ${formatMoney(invoice.amount, currency)}`;
  if (!shown.some((i) => i.subscriptionId && clusters[i.subscriptionId]?.stackId)) {
    return [head, ...shown.map((i) => line(i, '  '))];
  }
  const groups = new Map<string, InvoiceItem[]>();
  for (const i of shown) {
    const key = i.subscriptionId ?? '';
    groups.set(key, [...(groups.get(key) ?? []), i]);
  }
  const out = [head];
  for (const [subscriptionId, items] of [...groups].sort(([a], [b]) => (a === '' ? 1 : b === '' ? -1 : 0))) {
    const c = clusters[subscriptionId];
    const title = !subscriptionId
      ? 'account'
      : c?.stackId
        ? `cluster ${c.stackName ?? c.stackId} (${c.stackId})`
        : `subscription ${subscriptionId}`;
    out.push(`  ${title}`, ...items.map((i) => line(i, '    ')));
  }
  return out;
}
