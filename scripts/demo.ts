/**
 * `npm run demo`: the whole flow on this machine, on embedded defaults. Starts Redis, a real CloudKitty,
 * the Kill Bill stand-in and the bridge; Kill Bill tells the bridge about two new accounts through real
 * push notifications; a day of rated usage is synced; the result is printed next to CloudKitty's totals.
 * Everything started is stopped again, by PID, whatever happens (Ctrl-C included).
 */
import { readFileSync } from 'node:fs';
import { Decimal } from 'decimal.js';
import { loadConfig } from '../src/config/index.js';
import { KillBillClient } from '../src/killbill/killbill-client.js';
import { createLogger } from '../src/logging/logger.js';
import { CloudKittyClient, type RatedUsage } from '../src/openstack/index.js';
import { FIELD } from '../src/registry/metered-subscription.js';
import { ApiService } from '../src/service/api-service.js';
import { createBridgeRuntime } from '../src/service/bridge-runtime.js';
import { WorkerService } from '../src/service/worker-service.js';
import { ProgressBar } from '../src/cli/progress-bar.js';
import { startKillBillStandin } from '../test/killbill-standin/index.js';
import { seedRatedUsage, startCloudKitty } from '../test/support/cloudkitty.js';
import { RedisServer } from '../test/support/redis-server.js';
import { freePort, waitFor } from '../test/support/wait.js';

const HOUR = 3_600_000;
const keepRunning = process.argv.includes('--keep-running');
const stops: Array<{ what: string; stop: () => Promise<void> }> = [];
let step = 0;
const say = (text: string) => process.stdout.write(`\n${++step}. ${text}\n`);
const detail = (text: string) => process.stdout.write(`   ${text}\n`);

async function stopAll(): Promise<void> {
  for (const { what, stop } of stops.splice(0).reverse()) {
    await stop().catch((err: Error) => detail(`could not stop ${what}: ${err.message}`));
  }
}

process.once('SIGINT', () => {
  process.stdout.write('\ninterrupted: stopping everything the demo started…\n');
  void stopAll().then(() => process.exit(130));
});

const PROJECTS = [
  { name: 'acme-hpc', projectId: '5d3c2f4e8b1a4c6d9e0f1a2b3c4d5e6f', metrics: 'instance,vcpus' },
  { name: 'globex-ml', projectId: '9a8b7c6d5e4f40312a1b0c9d8e7f6a5b', metrics: 'instance' },
];

/** A day of hourly rated usage: two VMs in the first project, one in the second, prices off the cent. */
function dayOfUsage(start: number): RatedUsage[] {
  const usage: RatedUsage[] = [];
  for (let h = 0; h < 24; h++) {
    const begin = new Date(start + h * HOUR);
    for (const vm of ['vm-1', 'vm-2']) {
      usage.push({
        begin,
        projectId: PROJECTS[0]!.projectId,
        metric: 'instance',
        price: '0.0425',
        resourceId: `${vm}`,
      });
      usage.push({
        begin,
        projectId: PROJECTS[0]!.projectId,
        metric: 'vcpus',
        price: '0.0137',
        qty: '4',
        resourceId: `${vm}`,
      });
    }
    usage.push({
      begin,
      projectId: PROJECTS[1]!.projectId,
      metric: 'instance',
      price: h < 8 ? '0.118' : '0.0615',
      resourceId: 'gpu-1',
    });
  }
  return usage;
}

async function main(): Promise<void> {
  say('Starting Redis, CloudKitty 17 (real, on loopback), the Kill Bill stand-in and the bridge');
  const redis = await RedisServer.start();
  stops.push({ what: 'redis', stop: () => redis.close() });
  detail(`redis-server on ${redis.url} (data in ${redis.dir})`);
  const cloudkitty = await startCloudKitty();
  stops.push({ what: 'cloudkitty', stop: () => cloudkitty.stop() });
  detail(`CloudKitty at ${cloudkitty.url} (state in ${cloudkitty.stateDir})`);
  const killbill = await startKillBillStandin({ port: 0, retrySchedule: [200, 1000, 5000] });
  stops.push({ what: 'kill bill stand-in', stop: () => killbill.close() });
  detail(`Kill Bill stand-in at ${killbill.url} (admin/password)`);

  const port = await freePort();
  const { config } = loadConfig({
    searchPath: [],
    env: {
      REDIS_URL: redis.url,
      KILLBILL_URL: killbill.url,
      KILLBILL_API_KEY: 'demo',
      KILLBILL_API_SECRET: 'demo-secret',
      CLOUDKITTY_URL: cloudkitty.url,
      PORT: String(port),
      BRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`,
      BRIDGE_CALLBACK_TOKEN: 'demo-callback-token-not-for-production',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      BRIDGE_SYNC_EVERY: '1h',
    },
  });
  const logger = createLogger({ level: config.log.level, name: 'bridge-demo' });
  const kb = new KillBillClient({ ...config.killbill, url: killbill.url });

  say('Setting up Kill Bill: tenant, catalog, push-notification callback');
  detail(`tenant demo: ${(await kb.createTenant()) ? 'created' : 'already there'}`);
  await kb.uploadCatalogXml(readFileSync('catalog/catalog.xml', 'utf8'));
  detail(
    'catalog/catalog.xml uploaded (units openstack-billed-instance, openstack-billed-vcpus at 0.01 USD)',
  );
  const api = new ApiService({ config, logger, host: '127.0.0.1' });
  await api.start();
  stops.push({ what: 'bridge api', stop: () => api.stop() });
  const runtime = createBridgeRuntime(config, logger);
  const workers = new WorkerService(runtime);
  await workers.start();
  stops.push({ what: 'bridge workers', stop: async () => (await workers.stop(), await runtime.close()) });
  await waitFor('the bridge registered its callback', () => api.callbacksRegistered, { timeoutMs: 20_000 });
  detail(`callback registered: ${config.server.publicUrl}/killbill/notifications?token=********`);

  say('Creating two accounts with their OpenStack fields and a subscription each, through the Kill Bill API');
  const now = Date.now();
  const dayStart = Math.floor(now / HOUR) * HOUR - 27 * HOUR;
  const startDate = new Date(dayStart - 24 * HOUR).toISOString().slice(0, 10);
  const accounts: Array<{ accountId: string; subscriptionId: string; name: string; projectId: string }> = [];
  for (const p of PROJECTS) {
    const accountId = await kb.createAccount({ name: p.name, currency: 'USD', externalKey: p.name });
    await kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: p.projectId },
      { name: FIELD.metrics, value: p.metrics },
    ]);
    const subscriptionId = await kb.createSubscription(accountId, config.killbill.planName, startDate);
    accounts.push({ accountId, subscriptionId, name: p.name, projectId: p.projectId });
    detail(`${p.name}: account ${accountId}, subscription ${subscriptionId}, metrics ${p.metrics}`);
  }
  await waitFor(
    'push notifications have told the bridge about both subscriptions',
    async () => (await runtime.registry.entries('demo')).filter((e) => e.status === 'metered').length === 2,
    { timeoutMs: 30_000 },
  );
  detail('the bridge learnt of both through push notifications: both are metered');

  say('Seeding CloudKitty with a day of hourly rated usage for both projects');
  await cloudkitty.reset();
  await seedRatedUsage(cloudkitty.url, dayOfUsage(dayStart));
  detail(`24 hours from ${new Date(dayStart).toISOString()}`);

  say('Syncing: closed windows of rated usage into Kill Bill');
  const bar = new ProgressBar('   syncing');
  const results = await runtime.usageSync.runOnce({ mode: 'new' }, 4, (done, total) =>
    bar.update(done, total),
  );
  const failed = results.filter((r) => r.error);
  if (failed.length) throw new Error(`sync failed: ${failed.map((r) => r.error).join('; ')}`);

  say('What Kill Bill recorded, next to what CloudKitty rated');
  const ck = new CloudKittyClient({ url: cloudkitty.url });
  const begin = new Date(dayStart);
  const end = new Date(dayStart + 24 * HOUR);
  const rows: string[][] = [['account', 'unit', 'recorded (USD)', 'CloudKitty (USD)', 'difference']];
  for (const a of accounts) {
    const usage = await kb.getUsage(a.subscriptionId, begin.toISOString(), end.toISOString());
    const rated = await ck.summary({
      begin,
      end,
      groupby: ['time', 'project_id', 'type'],
      filters: { project_id: [a.projectId] },
    });
    for (const [type, unit] of Object.entries(config.metering.metricUnits)) {
      const ckTotal = rated
        .filter((r) => r.type === type)
        .reduce((s, r) => s.plus(r.rate ?? 0), new Decimal(0));
      if (ckTotal.isZero()) continue;
      const recorded = new Decimal(usage.rolledUpUnits?.find((u) => u.unitType === unit)?.amount ?? 0).div(
        100,
      );
      const expected = ckTotal.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
      rows.push([
        a.name,
        unit,
        recorded.toFixed(2),
        `${expected.toFixed(2)} (${ckTotal.toString()})`,
        recorded.minus(expected).toFixed(2),
      ]);
    }
  }
  printTable(rows);

  say('Kill Bill invoice preview for each account (dry run, nothing stored)');
  for (const a of accounts) {
    const invoice = await kb.previewInvoice(
      a.accountId,
      new Date(now + 40 * 24 * HOUR).toISOString().slice(0, 10),
    );
    const items = (invoice?.items ?? []).filter((i) => Number(i.amount ?? 0) !== 0 || i.itemType === 'USAGE');
    detail(`${a.name}: ${invoice ? `${invoice.amount} ${invoice.currency}` : 'nothing to invoice yet'}`);
    for (const i of items)
      detail(
        `  ${i.itemType} ${i.usageName ?? i.planName ?? ''} ${i.amount} (${i.startDate} → ${i.endDate})`,
      );
  }

  if (keepRunning) {
    say('Left running. Try:');
    detail(
      `callback:  POST http://127.0.0.1:${api.port}/killbill/notifications?token=demo-callback-token-not-for-production`,
    );
    detail(`health:    curl http://127.0.0.1:${api.port}/readyz`);
    detail(`metrics:   curl http://127.0.0.1:${api.port}/metrics`);
    detail(
      `Kill Bill: curl -u admin:password -H 'X-Killbill-ApiKey: demo' -H 'X-Killbill-ApiSecret: demo-secret' ${killbill.url}/1.0/kb/accounts/pagination`,
    );
    detail('Ctrl-C stops everything.');
    await new Promise(() => {});
  }
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [n, r] of rows.entries()) {
    detail(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    if (n === 0) detail(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

main()
  .then(async () => {
    say('Stopping everything the demo started');
    await stopAll();
    detail('done: no process or temp folder left behind');
  })
  .catch(async (err: Error) => {
    process.stderr.write(`\ndemo failed: ${err.message}\n`);
    await stopAll();
    process.exit(1);
  });
