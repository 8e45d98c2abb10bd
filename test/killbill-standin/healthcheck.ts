import { Router } from 'express';
import { sendJson } from './jaxrs-responses.js';

/**
 * `GET /1.0/healthcheck`: the platform's metrics health-check servlet. No authentication; 200 with one
 * entry per registered check when all are healthy (500 otherwise), which is what start-up scripts poll.
 */
export function healthcheckRoutes(): Router {
  const router = Router();
  router.get('/1.0/healthcheck', (_req, res) => {
    const healthy = { healthy: true, message: null };
    sendJson(res, 200, {
      'main.pool.ConnectivityCheck': healthy,
      'org.killbill.billing.server.healthchecks.KillbillHealthcheck': healthy,
      'org.killbill.billing.server.healthchecks.KillbillPluginsHealthcheck': healthy,
      'org.killbill.billing.server.healthchecks.KillbillQueuesHealthcheck': healthy,
      deadlocks: healthy,
    });
  });
  return router;
}
