import { Queue } from 'bullmq';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import type { RegistryJobData } from '../../src/jobs/registry-jobs.js';
import type { RegistryStore } from '../../src/registry/registry-store.js';
import type { KillBillTenant } from './killbill-server.js';
import { waitFor } from './wait.js';

/**
 * After a catalog upload: waits until the bridge has been told of it and has run the registry rebuild
 * it asked for, with no registry job left. Returns that rebuild, so a test can later prove that no other
 * rebuild ran and what it knows came from notifications.
 *
 * Kill Bill announces a tenant key change by polling its `tenant_broadcasts` table (about once a second),
 * after `GET /1.0/kb/test/queues` already answers idle, so the only sure sign is the notification itself.
 * The tenant must be made with `useGlobalDefault: true`: otherwise Kill Bill also stores an empty catalog
 * at creation and announces it whenever its poller gets there, possibly after the upload's.
 */
export async function catalogRebuildSettled(
  tenant: KillBillTenant,
  redisUrl: string,
  prefix: string,
  registry: RegistryStore,
): Promise<{ at: number; accounts: number }> {
  const queue = new Queue<RegistryJobData>(REGISTRY_QUEUE, { connection: { url: redisUrl }, prefix });
  try {
    return await waitFor(
      'the bridge told of the catalog upload, its registry rebuilt, and no registry job left',
      async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
        if (Object.values(counts).some((n) => n > 0)) return undefined;
        const done = await queue.getJobs(['completed'], 0, -1);
        const told = done.some((j) => j.data.kind === 'reconcile' && /\bCATALOG\b/.test(j.data.cause));
        const last = await registry.lastReconcile(tenant.apiKey);
        return told && last ? last : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    await queue.close();
  }
}
