import { expect } from 'chai';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { callbackPathOf, NOTIFICATIONS_PATH } from '../../src/intake/intake-handler.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { accountNotification, startIntakeService, type IntakeService } from '../support/intake-service.js';

/** The two routes the intake had on an Express router of its own: what `callbackPathOf` must match alike. */
function expressRoutes() {
  const app = express();
  const router = express.Router();
  router.post(NOTIFICATIONS_PATH, (_req, res) => {
    res.json({ matched: {} });
  });
  router.post(`${NOTIFICATIONS_PATH}/:tenantApiKey`, (req, res) => {
    res.json({ matched: { tenantApiKey: req.params.tenantApiKey } });
  });
  app.use(router);
  app.use((_req, res) => {
    res.json({ matched: null });
  });
  app.use((err: { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ error: true });
  });
  return app;
}

const PATHS = [
  '/killbill/notifications',
  '/killbill/notifications/',
  '/KillBill/Notifications',
  '/killbill/notifications/acme',
  '/killbill/notifications/acme/',
  '/killbill/notifications/a%20b',
  '/killbill/notifications/a%2Fb',
  '/killbill/notifications/%E0%A4%A',
  '/killbill/notifications//',
  '/killbill/notifications//acme',
  '/killbill/notifications/acme//',
  '/killbill/notifications/a/b',
  '/killbill/notificationsX',
  '/killbill//notifications',
  '/killbill',
  '/',
];

describe('intake: which paths are the callback', () => {
  it('matches every path as the Express routes it replaced did', async () => {
    const app = expressRoutes();
    for (const path of PATHS) {
      const res = await request(app).post(path);
      let ours: unknown;
      try {
        ours = { matched: callbackPathOf(path) ?? null };
      } catch (err) {
        ours = { status: (err as { status?: number }).status };
      }
      const theirs = res.status === 200 ? res.body : { status: res.status };
      expect(ours, path).to.deep.equal(theirs);
    }
  });

  describe('over HTTP', () => {
    let intake: IntakeService;

    before(async () => {
      intake = await startIntakeService({ KILLBILL_EXTRA_TENANTS: '[{"apiKey":"acme","apiSecret":"s"}]' });
    });
    after(async () => {
      await intake?.close();
    });

    it('queues what is posted to the default or a tenant path, with or without a trailing slash', async () => {
      const paths = ['/killbill/notifications/', '/KillBill/Notifications', '/killbill/notifications/acme/'];
      for (const path of paths) {
        const res = await request(intake.base)
          .post(`${path}?token=${TEST_TOKEN}`)
          .send(accountNotification())
          .expect(200);
        expect(res.body.status, path).to.equal('queued');
      }
      expect(await intake.queue.count()).to.equal(paths.length);
    });

    it('400 with a reason, not 500, for a tenant segment that is no valid percent-encoding', async () => {
      const res = await request(intake.base)
        .post(`/killbill/notifications/%E0%A4%A?token=${TEST_TOKEN}`)
        .send(accountNotification())
        .expect(400);
      expect(res.body.error).to.match(/tenant in the path is not a valid URI component/);
    });

    it('404 for other methods and for paths below or beside the callback', async () => {
      await request(intake.base).get(`/killbill/notifications?token=${TEST_TOKEN}`).expect(404);
      for (const path of [
        '/killbill/notifications/acme/extra',
        '/killbill/notificationsX',
        '/killbill/notifications//',
      ]) {
        const res = await request(intake.base)
          .post(`${path}?token=${TEST_TOKEN}`)
          .send(accountNotification())
          .expect(404);
        expect(res.body, path).to.deep.equal({ error: 'not found' });
      }
    });
  });
});
