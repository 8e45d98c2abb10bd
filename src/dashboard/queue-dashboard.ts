import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import { Router, type RequestHandler } from 'express';
import type { RedisClient } from '../jobs/redis-connection.js';
import type { Logger } from '../logging/logger.js';
import { BRIDGE_QUEUES } from '../jobs/queue-names.js';
import { requireBasicAuth, type DashboardCredentials } from './dashboard-auth.js';

/** Where the API serves Bull Board. */
export const DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboardOptions {
  connection: RedisClient;
  prefix: string;
  credentials: DashboardCredentials;
  logger: Logger;
}

export interface QueueDashboard {
  /** To be mounted at {@link DASHBOARD_PATH}; answers 401 until the credentials match. */
  handler: RequestHandler;
  close(): Promise<void>;
}

/**
 * Bull Board over every queue of the bridge, with its retry, promote and clean actions: a failed job
 * kept in the failed set is meant to be looked at and retried from here once its cause is fixed.
 */
export function createQueueDashboard(options: QueueDashboardOptions): QueueDashboard {
  const { connection, prefix, credentials, logger } = options;
  const queues = BRIDGE_QUEUES.map((q) => ({ ...q, queue: new Queue(q.name, { connection, prefix }) }));
  for (const { queue } of queues) {
    queue.on('error', (err) =>
      logger.debug({ event: 'dashboard.queue_error', err: err.message }, 'dashboard queue error'),
    );
  }
  const board = new ExpressAdapter();
  board.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map(
      ({ queue, description }) => new BullMQAdapter(queue, { description, readOnlyMode: false }),
    ),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'Bridge queues', hideDocsLink: true } },
  });
  const router = Router();
  router.use(
    // A browser always asks once without credentials; only a wrong password is worth an info line.
    requireBasicAuth(credentials, 'killbill-openstack-bridge queues', (why, remote) =>
      logger[why === 'wrong' ? 'info' : 'debug'](
        { event: 'dashboard.refused', why, remote },
        why === 'wrong' ? 'queue dashboard: wrong user or password' : 'queue dashboard: no credentials',
      ),
    ),
  );
  router.use(board.getRouter() as RequestHandler);
  return {
    handler: router,
    async close() {
      await Promise.all(queues.map(({ queue }) => queue.close().catch(() => {})));
    },
  };
}
