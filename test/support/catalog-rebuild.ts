import { Queue } from 'bullmq';
import { REGISTRY_QUEUE } from '../../src/queues/queue-names.js';
import type { RegistryStore } from '../../src/registry/registry-store.js';
import { waitForQueues, type KillBillTenant } from './killbill-server.js';
import { waitFor } from './wait.js';

/**
 * After a catalog upload: waits until Kill Bill has delivered every notification of it (its bus is empty)
 * and the bridge has run every registry job they queued (a catalog change makes it rebuild the registry;
 * Kill Bill may announce one upload more than once). Returns the last rebuild, so a test can later prove
 * that no other rebuild ran and what it knows came from notifications.
 */
export async function catalogRebuildSettled(
  tenant: KillBillTenant,
  redisUrl: string,
  prefix: string,
  registry: RegistryStore,
): Promise<{ at: number; accounts: number }> {
  await waitForQueues(tenant, 30);
  const queue = new Queue(REGISTRY_QUEUE, { connection: { url: redisUrl }, prefix });
  try {
    return await waitFor(
      'the registry rebuilt after the catalog upload, and no registry job left',
      async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
        const last = await registry.lastReconcile(tenant.apiKey);
        return Object.values(counts).every((n) => n === 0) && last ? last : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } finally {
    await queue.close();
  }
}
