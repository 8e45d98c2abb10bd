import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/logging/logger.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { REGISTRY_JOB_OPTIONS, type RegistryJobData } from '../../src/jobs/registry-jobs.js';
import { ApiService } from '../../src/app/api-service.js';
import { testConfig } from '../support/bridge-config.js';
import { chromiumOrWhyNot, launchChromium } from '../support/chromium.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const USER = 'ops';
const PASSWORD = 'queue-dashboard-secret-42';

/** The intake API as `bridge api` runs it, with its log lines kept for the test to read. */
async function startApi(redis: RedisServer, env: Record<string, string>) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const config = testConfig({ REDIS_URL: redis.url, BRIDGE_REGISTER_CALLBACK: 'false', ...env });
  const api = new ApiService({ config, logger, port: 0, host: '127.0.0.1' });
  await api.start();
  return { api, lines, config, base: `http://127.0.0.1:${api.port}` };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('queue dashboard at /admin/queues (the real intake API, real Redis)', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let api: ApiService | undefined;

  before(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });
  after(async () => {
    await redis?.close();
  });

  it('is off (404) when no credentials are configured, and says so once at start', async () => {
    const started = await startApi(redis, {});
    api = started.api;
    const res = await fetch(`${started.base}/admin/queues`, {
      headers: { authorization: basic(USER, PASSWORD) },
    });
    expect(res.status).to.equal(404);
    const said = started.lines.filter((l) => l.event === 'dashboard.off');
    expect(said).to.have.length(1);
    expect(said[0]!.level).to.equal('warn');
    expect(said[0]!.msg).to.equal(
      'queue dashboard off: set BRIDGE_DASHBOARD_USERNAME and BRIDGE_DASHBOARD_PASSWORD to serve it at /admin/queues',
    );
  });

  it('answers 401 without credentials or with wrong ones, 200 with the configured ones', async () => {
    const started = await startApi(redis, {
      BRIDGE_DASHBOARD_USERNAME: USER,
      BRIDGE_DASHBOARD_PASSWORD: PASSWORD,
    });
    api = started.api;
    const get = (path: string, authorization?: string) =>
      fetch(`${started.base}${path}`, { headers: authorization ? { authorization } : {} });

    const none = await get('/admin/queues');
    expect(none.status).to.equal(401);
    expect(none.headers.get('www-authenticate')).to.match(/^Basic realm="/);
    expect(await none.json()).to.deep.equal({
      error: 'the queue dashboard needs a user and password (HTTP basic auth)',
    });
    for (const wrong of [
      basic(USER, 'not-the-password'),
      basic('admin', PASSWORD),
      basic(USER, `${PASSWORD}x`),
      basic('', ''),
      'Bearer abc',
      'Basic !!!',
    ]) {
      const res = await get('/admin/queues/api/queues', wrong);
      expect(res.status, wrong).to.equal(401);
    }
    const page = await get('/admin/queues', basic(USER, PASSWORD));
    expect(page.status).to.equal(200);
    expect(await page.text()).to.include('<title>');
    const queues = await get('/admin/queues/api/queues', basic(USER, PASSWORD));
    expect(queues.status).to.equal(200);
    const body = (await queues.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(body.queues.map((q) => q.name).sort()).to.deep.equal(['registry', 'usage-sync']);
    expect(body.queues.every((q) => !q.readOnlyMode)).to.equal(true);
    // Neither the password nor what was tried is in the log.
    expect(JSON.stringify(started.lines)).not.to.include(PASSWORD);
    expect(JSON.stringify(started.lines)).not.to.include('not-the-password');
    expect(started.lines.filter((l) => l.event === 'dashboard.off')).to.deep.equal([]);
  });

  describe('in a browser (Debian chromium)', function () {
    this.timeout(10 * 60_000);
    let executablePath = '';
    const connections: Redis[] = [];

    before(function () {
      const found = chromiumOrWhyNot();
      if ('missing' in found) {
        process.stderr.write(`      skipped: ${found.missing}\n`);
        this.skip();
      } else {
        executablePath = found.path;
      }
    });
    after(() => connections.forEach((c) => c.disconnect()));

    it('logs in, shows a failed registry job, and retries it from the UI', async () => {
      const started = await startApi(redis, {
        BRIDGE_DASHBOARD_USERNAME: USER,
        BRIDGE_DASHBOARD_PASSWORD: PASSWORD,
      });
      api = started.api;
      const prefix = started.config.redis.prefix;
      const [queueConnection, workerConnection] = [redis.client(), redis.client()];
      connections.push(queueConnection, workerConnection);
      const queue = new Queue<RegistryJobData>(REGISTRY_QUEUE, { connection: queueConnection, prefix });
      // Kill Bill refusing the account is final: the job fails at once and waits in the failed set.
      let refuse = true;
      const worker = new Worker<RegistryJobData>(
        REGISTRY_QUEUE,
        async () => {
          if (refuse) throw new UnrecoverableError('Kill Bill answered 403 for account 4e1b (test refusal)');
          return { subscriptions: 0, problems: 0 };
        },
        { connection: workerConnection, prefix },
      );
      const accountId = '4e1b0d2c-0000-4000-8000-00000000dead';
      const job = await queue.add(
        'account',
        {
          kind: 'account',
          tenantApiKey: 'bob',
          accountId,
          cause: { eventType: 'ACCOUNT_CHANGE', objectType: 'ACCOUNT', objectId: accountId },
        },
        REGISTRY_JOB_OPTIONS,
      );
      await waitFor('the job has failed', async () => (await job.getState()) === 'failed');
      refuse = false;

      const browser = await launchChromium(executablePath, { username: USER, password: PASSWORD });
      const shots = mkdtempSync(join(tmpdir(), 'bridge-dashboard-shots-'));
      try {
        const page = await browser.context.newPage();
        await page.goto(`${started.base}/admin/queues/queue/${REGISTRY_QUEUE}?status=failed`);
        await page.getByText('Kill Bill answered 403 for account 4e1b').first().waitFor();
        await page.getByText(`#${job.id}`, { exact: true }).first().waitFor();
        const screenshot = join(shots, 'failed-registry-job.png');
        await page.screenshot({ path: screenshot, fullPage: true });
        process.stderr.write(`      screenshot: ${screenshot}\n`);

        // The job's card: the innermost block holding both its id and a retry button.
        const card = page
          .locator('div')
          .filter({ has: page.getByText(`#${job.id}`, { exact: true }) })
          .filter({ has: page.locator('button:has(svg.lucide-refresh-cw)') })
          .last();
        const retry = card.locator('button:has(svg.lucide-refresh-cw)').first();
        await retry.hover();
        await page.getByText('Retry', { exact: true }).waitFor();
        await retry.click();
        // This job's retry, not the list's "Retry all".
        await page.getByText('Are you sure that you want to retry this job?').waitFor();
        await page.getByRole('button', { name: 'Confirm' }).click();

        const state = await waitFor(
          'the retried job is no longer failed',
          async () => {
            const s = await job.getState();
            return s === 'failed' ? null : s;
          },
          { timeoutMs: 20_000, intervalMs: 100 },
        );
        expect(state).to.be.oneOf(['waiting', 'active', 'completed']);
        await waitFor('the retried job completed', async () => (await job.getState()) === 'completed');
      } finally {
        await browser.close();
        await worker.close();
        await queue.close();
      }
    });
  });
});
