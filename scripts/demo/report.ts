import { Decimal } from 'decimal.js';
import type { BridgeConfig } from '../../src/config/index.js';
import type { SeedingKillBillClient } from '../../test/support/seeding-killbill-client.js';
import { CloudKittyClient } from '../../src/clients/openstack/index.js';
import { invoicePreviewLines, type Cluster } from './invoice-preview.js';
import { formatAmount } from './money.js';
import { detail, say } from './output.js';
import { HOUR } from './usage-day.js';

/** What the report reads: the bridge's configuration and a Kill Bill client on the demo tenant. */
export interface Reporting {
  config: BridgeConfig;
  kb: SeedingKillBillClient;
}

export interface DemoAccount {
  accountId: string;
  subscriptionId: string;
  name: string;
  projectId: string;
  /** The Kill Bill units its subscription meters. */
  units: string[];
}

export async function compareWithCloudKitty(
  { config, kb }: Reporting,
  cloudkittyUrl: string,
  accounts: DemoAccount[],
  dayStart: number,
): Promise<void> {
  say('What Kill Bill recorded, next to what CloudKitty rated');
  const ck = new CloudKittyClient({ url: cloudkittyUrl });
  const begin = new Date(dayStart);
  const end = new Date(dayStart + 24 * HOUR);
  const usd = (d: Decimal) => formatAmount(d.toString(), 'USD');
  const rows: string[][] = [['account', 'unit', 'recorded (USD)', 'CloudKitty (USD)', 'difference']];
  for (const a of accounts) {
    const usage = await kb.getUsage(a.subscriptionId, begin.toISOString(), end.toISOString());
    const rated = await ck.summary({
      begin,
      end,
      groupby: ['time', 'project_id', 'type'],
      filters: { project_id: [a.projectId] },
    });
    for (const [type, unit] of Object.entries(config.metering.metricUnits)) {
      const ckTotal = rated
        .filter((r) => r.type === type)
        .reduce((s, r) => s.plus(r.rate ?? 0), new Decimal(0));
      if (ckTotal.isZero()) continue;
      // Kill Bill holds whole cents: catalog/ prices one unit at 0.01 USD.
      const cents = usage.rolledUpUnits?.find((u) => u.unitType === unit)?.amount ?? 0;
      const recorded = new Decimal(String(cents)).div(100);
      const expected = ckTotal.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
      rows.push([
        a.name,
        unit,
        usd(recorded),
        `${usd(expected)} (${ckTotal.toString()})`,
        usd(recorded.minus(expected)),
      ]);
    }
  }
  printTable(rows);
}

export async function previewInvoices(
  { kb }: Reporting,
  accounts: DemoAccount[],
  now: number,
  clusterOf: (subscriptionId: string) => Promise<Cluster | null | undefined> = async () => null,
): Promise<void> {
  say('Kill Bill invoice preview for each account (dry run, nothing stored)');
  const targetDate = new Date(now + 40 * 24 * HOUR).toISOString().slice(0, 10);
  for (const a of accounts) {
    const invoice = await kb.upcomingInvoice(a.accountId, targetDate);
    const subscriptions = [...new Set((invoice?.items ?? []).map((i) => i.subscriptionId ?? ''))];
    const clusters: Record<string, Cluster> = {};
    for (const id of subscriptions.filter(Boolean)) {
      const c = await clusterOf(id);
      if (c) clusters[id] = { stackId: c.stackId, stackName: c.stackName };
    }
    for (const line of invoicePreviewLines(a.name, invoice, a.units, clusters)) detail(line);
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [n, r] of rows.entries()) {
    detail(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    if (n === 0) detail(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
