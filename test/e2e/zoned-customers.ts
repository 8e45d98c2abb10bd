import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import { SeedingKillBillClient } from '../support/seeding-killbill-client.js';
import {
  allocatePeriodCents,
  billingCycleOf,
  billingPeriodContaining,
  formatOffset,
  startOfLocalDay,
  zoneOffsetMs,
  type UsageTzMode,
} from '../../src/metering/index.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import {
  createTenant,
  resetClock,
  setClock,
  tenantHeaders,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { killBillFront } from '../support/killbill-022-shim.js';
import { waitFor } from '../support/wait.js';
import { BridgeStack, kbGet, type Invoice } from './real-killbill-stack.js';

const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
const INSTANCE_USAGE = 'openstack-usage-billing-instance';

/**
 * The usage tz mode the bridge must run with to match the server: 0.22 takes a usage recordDate as a plain
 * date and compares dates, and the shim in front of it dates each record by its UTC day, so its periods start
 * at midnight UTC of the bill-cycle date (`UTC`); 0.24.6+ defaults to FIXED.
 */
export function usageTzModeFor(version: string): UsageTzMode {
  return version.startsWith('0.22.') ? 'UTC' : 'FIXED';
}

export interface ZonedCustomer {
  name: string;
  timeZone: string;
  accountId: string;
  subscriptionId: string;
  projectId: string;
  /** What the registry learnt: the subscription's bill-cycle day and the account's reference time. */
  billCycleDay: number;
  referenceTime: string | null;
  since: string;
  /** Rated instance usage seeded into CloudKitty for it. */
  usage: RatedUsage[];
}

/**
 * The instant at which Kill Bill starts the usage day `date` (YYYY-MM-DD) of an invoice item, written down from
 * what the server does rather than from the bridge's code for 0.22: a record lands on the day the shim dates it,
 * its UTC day. For 0.24.6+ (FIXED): local midnight at the account's offset at its reference time.
 */
export function killBillDayStart(version: string, date: string, c: ZonedCustomer): number {
  if (version.startsWith('0.22.')) return Date.parse(`${date}T00:00:00Z`);
  const offset = formatOffset(zoneOffsetMs(c.timeZone, Date.parse(c.referenceTime ?? c.since)));
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return startOfLocalDay(offset, { year, month, day });
}

/** A fresh tenant with the catalog, Kill Bill's clock at `clock`, and the bridge in `usageTzModeFor` the server. */
export async function startZonedBridge(
  server: KillBillServer,
  cloudkittyUrl: string,
  clock: Date,
  cleanups: Array<() => Promise<void>>,
) {
  const tenant = await createTenant();
  // One clock for the whole server: back to real time for whoever runs next, whatever fails here.
  cleanups.push(async () => void (await resetClock(tenant, 30)));
  await setClock(tenant, clock.toISOString(), 30);
  const { url } = await killBillFront(server, tenant.url, cleanups);
  const mode = usageTzModeFor(server.version);
  const stack = await BridgeStack.start(tenant, url, cloudkittyUrl, { KILLBILL_USAGE_TZ_MODE: mode });
  cleanups.push(() => stack.close());
  const kb = new SeedingKillBillClient({ ...tenant, createdBy: 'e2e-test' });
  await kb.uploadCatalogXml(readFileSync(new URL('../../catalog/catalog.xml', import.meta.url), 'utf8'));
  return { tenant, kb, stack, mode };
}

/** `PUT /1.0/kb/subscriptions/{id}/bcd`: the subscription's own bill-cycle day, effective now. */
export async function putSubscriptionBcd(
  tenant: KillBillTenant,
  subscriptionId: string,
  bcd: number,
): Promise<void> {
  const res = await fetch(`${tenant.url}/1.0/kb/subscriptions/${subscriptionId}/bcd`, {
    method: 'PUT',
    headers: { ...tenantHeaders(tenant), 'content-type': 'application/json' },
    body: JSON.stringify({ subscriptionId, billCycleDayLocal: bcd }),
  });
  if (res.status !== 204) throw new Error(`PUT bcd answered ${res.status}: ${await res.text()}`);
}

/**
 * An account in `timeZone` subscribed from `start` (YYYY-MM-DD). `metered`: it carries the metering fields
 * and the call returns once the registry, told only by push notifications, shows it metered with `bcd`
 * (the subscription's own bill-cycle day is then set through the API first).
 */
export async function createZonedCustomer(
  env: { tenant: KillBillTenant; kb: SeedingKillBillClient; stack: BridgeStack },
  o: { tag: string; timeZone: string; start: string; metered: boolean; metrics?: string[] },
  /** `push`: wait until Kill Bill's notifications have told the registry; `none`: the caller rebuilds it. */
  learn: 'push' | 'none' = 'push',
): Promise<ZonedCustomer> {
  const projectId = randomUUID().replace(/-/g, '');
  const name = `e2e-${o.tag}-${randomUUID().slice(0, 8)}`;
  const { kb, stack } = env;
  const accountId = await kb.createAccount({
    name,
    currency: 'USD',
    timeZone: o.timeZone,
    externalKey: name,
  });
  if (o.metered) {
    await kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: projectId },
      { name: FIELD.metrics, value: (o.metrics ?? ['instance']).join(',') },
    ]);
  }
  const subscriptionId = await kb.createSubscription(accountId, 'openstack-standard-monthly', o.start);
  const c = { name, timeZone: o.timeZone, accountId, subscriptionId, projectId, usage: [] };
  if (!o.metered || learn === 'none')
    return { ...c, billCycleDay: 0, referenceTime: null, since: `${o.start}T00:00:00.000Z` };
  const entry = await registryShows(stack, { name, subscriptionId, timeZone: o.timeZone }, 1);
  return { ...c, billCycleDay: entry.billCycleDay, referenceTime: entry.referenceTime, since: entry.since! };
}

/** Waits until the registry, told only by push notifications, shows the subscription metered with `bcd`. */
export function registryShows(
  stack: BridgeStack,
  c: { name: string; subscriptionId: string; timeZone: string },
  bcd: number,
) {
  const apiKey = stack.config.killbill.apiKey;
  return waitFor(
    `the registry shows ${c.name} metered with bill-cycle day ${bcd}, from push notifications`,
    async () => {
      const e = await stack.runtime.registry.entry(apiKey, c.subscriptionId);
      return e?.status === 'metered' && e.billCycleDay === bcd && e.timeZone === c.timeZone ? e : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** One usage amount on a plain date, straight to Kill Bill (no shim): 0.22's own unit of usage time. */
export async function postDatedUsage(
  tenant: KillBillTenant,
  subscriptionId: string,
  recordDate: string,
  amount: number,
): Promise<number> {
  const res = await fetch(`${tenant.url}/1.0/kb/usages`, {
    method: 'POST',
    headers: { ...tenantHeaders(tenant), 'content-type': 'application/json' },
    body: JSON.stringify({
      subscriptionId,
      trackingId: `probe-${recordDate}-${randomUUID().slice(0, 8)}`,
      unitUsageRecords: [{ unitType: 'openstack-billed-instance', usageRecords: [{ recordDate, amount }] }],
    }),
  });
  await res.text();
  return res.status;
}

export type UsageItem = Invoice['items'][number];

/** The USAGE items of the subscription (one usage section) over all its invoices, once one ends on `endDate`. */
export async function usageItemsThrough(
  tenant: KillBillTenant,
  c: ZonedCustomer,
  endDate: string,
  usageName: string = INSTANCE_USAGE,
): Promise<UsageItem[]> {
  return waitFor(
    `Kill Bill has invoiced ${c.name} up to ${endDate}`,
    async () => {
      const all = await kbGet<Invoice[]>(tenant, `/1.0/kb/accounts/${c.accountId}/invoices?withItems=true`);
      const items = all
        .flatMap((i) => i.items)
        .filter(
          (it) =>
            it.itemType === 'USAGE' && it.subscriptionId === c.subscriptionId && it.usageName === usageName,
        )
        .sort((a, b) => a.startDate.localeCompare(b.startDate));
      return items.some((it) => it.endDate === endDate) ? items : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** CloudKitty's exact total for the usage whose hour starts in [from, to), half-up to the cent. */
export function centsBetween(usage: readonly RatedUsage[], from: number, to: number): number {
  const exact = usage
    .filter((u) => +u.begin >= from && +u.begin < to)
    .reduce((s, u) => s.plus(u.price), new D(0));
  return exact.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
}

/**
 * The cents a bridge running in `mode` would record for each of the customer's hours (one point an hour):
 * cumulative rounding within the periods that mode computes. Lets a test show that another mode would
 * have invoiced something else, so that its check can fail.
 */
export function bridgeCentsPerHour(c: ZonedCustomer, mode: UsageTzMode): Map<number, number> {
  const cycle = billingCycleOf(
    {
      billCycleDay: c.billCycleDay,
      timeZone: c.timeZone,
      referenceTime: c.referenceTime,
      since: c.since,
    },
    mode,
  );
  const byPeriod = new Map<number, RatedUsage[]>();
  for (const u of [...c.usage].sort((a, b) => +a.begin - +b.begin)) {
    const start = +billingPeriodContaining(u.begin, cycle).start;
    byPeriod.set(start, [...(byPeriod.get(start) ?? []), u]);
  }
  const cents = new Map<number, number>();
  for (const hours of byPeriod.values()) {
    allocatePeriodCents(hours.map((u) => u.price)).forEach((n, i) => cents.set(+hours[i]!.begin, n));
  }
  return cents;
}
