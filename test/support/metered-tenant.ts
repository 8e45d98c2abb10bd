import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import { SeedingKillBillClient } from './seeding-killbill-client.js';
import type { RatedUsage } from './rated-usage-dataframes.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { readsFor022 } from './billing-read-shim.js';
import { FaultProxy } from './fault-proxy.js';
import { usageWithLocalDates } from './record-date-shim.js';
import { createTenant, startKillBill, type KillBillTenant } from './killbill-server.js';

/**
 * A tenant of the REAL Kill Bill (test/support/killbill-server.ts) ready for metering: the bridge's
 * catalog uploaded, accounts made the way an operator makes them. Replaces the stand-in for new tests.
 */

export const PLAN = 'openstack-standard-monthly';
export const HOUR = 3_600_000;
const CATALOG = new URL('../../catalog/catalog.xml', import.meta.url);

/** A fresh Keystone project id (32 hex digits): CloudKitty is shared, so tests never reuse one. */
export const newProjectId = (): string => randomUUID().replace(/-/g, '');

/** `YYYY-MM-DD` of a time, in UTC. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export interface MeteredAccount {
  accountId: string;
  subscriptionId: string;
  projectId: string;
}

export class MeteredTenant {
  private constructor(
    readonly tenant: KillBillTenant,
    /** The bridge's own client, used here only to set Kill Bill up and read it back. */
    readonly kb: SeedingKillBillClient,
  ) {}

  static async create(): Promise<MeteredTenant> {
    const tenant = await createTenant();
    const kb = new SeedingKillBillClient({
      url: tenant.url,
      username: tenant.username,
      password: tenant.password,
      apiKey: tenant.apiKey,
      apiSecret: tenant.apiSecret,
      createdBy: 'metered-tenant-test',
    });
    await kb.uploadCatalogXml(readFileSync(CATALOG, 'utf8'));
    return new MeteredTenant(tenant, kb);
  }

  get apiKey(): string {
    return this.tenant.apiKey;
  }

  get credentials(): { apiKey: string; apiSecret: string } {
    return { apiKey: this.tenant.apiKey, apiSecret: this.tenant.apiSecret };
  }

  /** Environment that makes this tenant the bridge's default tenant. */
  env(): Record<string, string> {
    return {
      KILLBILL_URL: this.tenant.url,
      KILLBILL_USERNAME: this.tenant.username,
      KILLBILL_PASSWORD: this.tenant.password,
      KILLBILL_API_KEY: this.tenant.apiKey,
      KILLBILL_API_SECRET: this.tenant.apiSecret,
    };
  }

  /**
   * An account metered on `projectId` for `metrics` through its custom fields, then one subscription
   * started on `startDate` (YYYY-MM-DD, may lie in the past), in the order an operator would do it.
   */
  async meteredAccount(name: string, projectId: string, startDate: string, metrics = 'instance') {
    const accountId = await this.kb.createAccount({
      name,
      currency: 'USD',
      externalKey: `${name}-${randomUUID().slice(0, 8)}`,
    });
    await this.kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: projectId },
      { name: FIELD.metrics, value: metrics },
    ]);
    const subscriptionId = await this.kb.createSubscription(accountId, PLAN, startDate);
    return { accountId, subscriptionId, projectId } satisfies MeteredAccount;
  }

  /** Cents Kill Bill holds for the subscription's unit, from `fromDay` up to `toDay` (exclusive; default two days from now). */
  async recordedCents(
    subscriptionId: string,
    fromDay: string,
    unit = 'openstack-billed-instance',
    toDay = dayOf(Date.now() + 2 * 24 * HOUR),
  ) {
    const usage = await this.kb.getUsage(subscriptionId, fromDay, toDay);
    const rolled = usage.rolledUpUnits?.find((u) => u.unitType === unit);
    return Number(rolled?.amount ?? 0);
  }
}

/**
 * A proxy in front of the real Kill Bill, for the bridge to call it through. The bridge records usage as
 * Kill Bill 0.24 takes it, recordDate a date-time; the 0.22.26 war this machine can fetch takes a date
 * (LocalDate) there and answers 400 to anything else. For a 0.22 server the proxy cuts each recordDate to
 * its UTC day (the tenants' accounts are in UTC), so the rest (amounts, tracking ids) reaches it unchanged;
 * and `bridge reconcile`'s reads get 0.22's flag and dates ({@link readsFor022}).
 */
export async function killBillForBridge(): Promise<FaultProxy> {
  const server = await startKillBill();
  const proxy = await FaultProxy.start(server.url);
  if (server.version.startsWith('0.22.')) {
    proxy.rewriteBody = usageWithLocalDates;
    proxy.rewritePath = (req) => readsFor022(req.path);
  }
  return proxy;
}

/**
 * `hours` hours of rated `instance` usage from `start` for each project, priced differently per project,
 * and the cents each project's subscription must end with: the period's sum, rounded half up once.
 */
export function hourlyUsage(
  projects: readonly string[],
  start: number,
  hours: number,
): { usage: RatedUsage[]; cents: number[] } {
  const usage: RatedUsage[] = [];
  const totals = projects.map(() => new Decimal(0));
  for (let h = 0; h < hours; h++) {
    projects.forEach((projectId, i) => {
      const price = new Decimal(h + 11 * i + 1).div(800);
      totals[i] = totals[i]!.plus(price);
      usage.push({
        begin: new Date(start + h * HOUR),
        projectId,
        metric: 'instance',
        price: price.toString(),
      });
    });
  }
  const cents = totals.map((t) => t.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber());
  return { usage, cents };
}
