import { readsFor022 } from './billing-read-shim.js';
import { FaultProxy } from './fault-proxy.js';
import type { KillBillServer } from './killbill-server.js';
import { recordDatesCut, usageWithLocalDates } from './record-date-shim.js';

/**
 * The one proxy that lets the bridge, written for Kill Bill 0.24, talk to the 0.22 war served here: usage
 * POST bodies get plain recordDates ({@link usageWithLocalDates}), and the reads of `bridge reconcile` get
 * 0.22's flag and dates ({@link readsFor022}). Every e2e stack goes through it, so any of them can
 * reconcile as well as sync.
 */
export interface KillBill022Shim {
  url: string;
  /** recordDates cut to a date so far. */
  readonly recordDates: number;
  /** Read requests rewritten so far. */
  readonly reads: number;
  close(): Promise<void>;
}

/** A pass-through proxy to `target` applying both rewrites, counting what each changed. */
export async function startKillBill022Shim(target: string): Promise<KillBill022Shim> {
  const proxy = await FaultProxy.start(target);
  let recordDates = 0;
  let reads = 0;
  proxy.rewriteBody = (req) => {
    recordDates += recordDatesCut(req);
    return usageWithLocalDates(req);
  };
  proxy.rewritePath = (req) => {
    const path = readsFor022(req.path);
    if (path !== undefined && path !== req.path) reads++;
    return path;
  };
  return {
    url: proxy.url,
    get recordDates() {
      return recordDates;
    },
    get reads() {
      return reads;
    },
    close: () => proxy.close(),
  };
}

/**
 * Where the bridge reaches `server`'s tenant at `url`: through a {@link startKillBill022Shim} when the
 * server is 0.22 (closed by `cleanups`), straight otherwise.
 */
export async function killBillFront(
  server: KillBillServer,
  url: string,
  cleanups: Array<() => Promise<void>>,
): Promise<{ url: string; shim?: KillBill022Shim }> {
  if (!server.version.startsWith('0.22.')) return { url };
  const shim = await startKillBill022Shim(url);
  cleanups.push(() => shim.close());
  return { url: shim.url, shim };
}
