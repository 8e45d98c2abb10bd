import type { KillBillTenant } from '../test/support/killbill-server.js';
import { tenantHeaders } from '../test/support/killbill-server.js';

/** One usage record as Kill Bill takes it: both units of one subscription for one day. */
export interface FloorRecord {
  subscriptionId: string;
  units: string[];
}

export interface FloorRate {
  concurrency: number;
  records: number;
  ms: number;
  perSecond: number;
}

/**
 * The floor of a sync's Kill Bill part: a bare client (fetch with keep-alive, nothing else) posting usage
 * records of the same shape to the same Kill Bill, through the same proxy, `concurrency` at once.
 * `day` keeps these records apart from the bridge's, so reading the bridge's totals back stays exact.
 */
export async function postBare(
  kbUrl: string,
  tenant: KillBillTenant,
  records: readonly FloorRecord[],
  concurrency: number,
  day: string,
): Promise<FloorRate> {
  const headers = { ...tenantHeaders(tenant), 'content-type': 'application/json' };
  let next = 0;
  const start = performance.now();
  const lane = async () => {
    while (next < records.length) {
      const r = records[next++]!;
      const body = {
        subscriptionId: r.subscriptionId,
        trackingId: `bench-floor-${day}-${concurrency}-${r.subscriptionId}`,
        unitUsageRecords: r.units.map((unitType) => ({
          unitType,
          usageRecords: [{ recordDate: `${day}T00:00:00.000Z`, amount: 1 }],
        })),
      };
      const res = await fetch(`${kbUrl}/1.0/kb/usages`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      if (res.status !== 201) throw new Error(`floor: Kill Bill answered ${res.status} to a usage record`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const ms = performance.now() - start;
  return { concurrency, records: records.length, ms, perSecond: (records.length / ms) * 1000 };
}

/**
 * Kill Bill's best rate for usage records on this machine now: each concurrency in turn on a sample of the
 * subscriptions (each its own day, so no record repeats), the best taken.
 */
export async function bestBareRate(
  kbUrl: string,
  tenant: KillBillTenant,
  records: readonly FloorRecord[],
  days: readonly string[],
  concurrencies: readonly number[],
): Promise<{ best: FloorRate; tried: FloorRate[] }> {
  const tried: FloorRate[] = [];
  for (const [i, concurrency] of concurrencies.entries()) {
    tried.push(await postBare(kbUrl, tenant, records, concurrency, days[i]!));
  }
  const best = tried.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  return { best, tried };
}
