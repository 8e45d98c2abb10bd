/**
 * `npm run demo`: the whole flow on this machine, on embedded defaults. Starts Redis, a real CloudKitty,
 * the Kill Bill stand-in and the bridge; Kill Bill tells the bridge about two new accounts through real
 * push notifications; a day of rated usage is synced; the result is printed next to CloudKitty's totals.
 * Everything started is stopped again, by PID, however the demo ends (scripts/demo/lifecycle.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type BridgeConfig } from '../src/config/index.js';
import { SeedingKillBillClient } from '../test/support/seeding-killbill-client.js';
import { createLogger } from '../src/logging/logger.js';
import { FIELD } from '../src/registry/metered-subscription.js';
import { ApiService } from '../src/app/api-service.js';
import { createBridgeRuntime, type BridgeRuntime } from '../src/app/bridge-runtime.js';
import { WorkerService } from '../src/app/worker-service.js';
import { ProgressBar } from '../src/app/progress-bar.js';
import { startKillBillStandin } from '../test/killbill-standin/index.js';
import { seedRatedUsage, startCloudKitty, type CloudKittyInstance } from '../test/support/cloudkitty.js';
import { RedisServer } from '../test/support/redis-server.js';
import { freePort, waitFor } from '../test/support/wait.js';
import { leftRunningLines } from './demo/left-running.js';
import { DemoLifecycle, Interrupted } from './demo/lifecycle.js';
import { detail, say } from './demo/output.js';
import { compareWithCloudKitty, previewInvoices, type DemoAccount, type Reporting } from './demo/report.js';
import { HOUR, PROJECTS, dayOfUsage } from './demo/usage-day.js';

const USAGE = `usage: npm run demo [-- --keep-running]      (or: bash scripts/demo.sh [--keep-running])

Runs the whole flow on this machine: starts Redis, a real CloudKitty 17, the Kill Bill stand-in and the
bridge on free loopback ports; Kill Bill tells the bridge about two accounts; a day of rated usage is
synced; prints what Kill Bill recorded next to CloudKitty's totals and an invoice preview; then stops
everything it started. First installs the Debian packages it needs when run as root
(scripts/install-test-deps.sh), or names them.

  --keep-running  leave the stack up at the end and print its URLs and the environment for
                  \`npx bridge …\`; Ctrl-C, SIGTERM or SIGHUP stops it
  -h, --help      print this and exit; starts nothing

Environment: LOG_LEVEL (default silent) for the bridge's own log lines.
`;

function demoOptions(): { keepRunning: boolean } {
  try {
    const { values } = parseArgs({
      options: { 'keep-running': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    return { keepRunning: values['keep-running'] ?? false };
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const options = demoOptions();
const life = new DemoLifecycle((line) => process.stdout.write(`\n${line}\n`));
life.exitOnSignalsAndErrors();

interface Stack {
  redis: RedisServer;
  cloudkitty: CloudKittyInstance;
  killbillUrl: string;
}

/** Redis with its PID, read from INFO: the harness keeps its child process to itself. */
async function startRedis(): Promise<{ server: RedisServer; pid: number }> {
  const server = await RedisServer.start();
  const client = server.client();
  try {
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    if (!pid) throw new Error('redis-server did not tell its PID');
    return { server, pid };
  } catch (err) {
    await server.close();
    throw err;
  } finally {
    client.disconnect();
  }
}

async function startServers(): Promise<Stack> {
  say('Starting Redis, CloudKitty 17 (real, on loopback), the Kill Bill stand-in and the bridge');
  const redis = await life.start(
    'redis',
    startRedis(),
    (r) => r.server.close(),
    (r) => [{ pid: r.pid }, { dir: r.server.dir }],
  );
  detail(`redis-server on ${redis.server.url}, pid ${redis.pid} (data in ${redis.server.dir})`);
  const cloudkitty = await life.start(
    'cloudkitty',
    startCloudKitty(),
    (ck) => ck.stop(),
    (ck) => [{ cloudkittyState: ck.stateDir }],
  );
  const pid = (name: string) => readFileSync(join(cloudkitty.stateDir, 'pids', `${name}.pid`), 'utf8').trim();
  detail(
    `CloudKitty at ${cloudkitty.url} (InfluxDB at ${cloudkitty.influxUrl}), ` +
      `pids cloudkitty-api ${pid('cloudkitty-api')}, influxd ${pid('influxd')} (state in ${cloudkitty.stateDir})`,
  );
  const killbill = await life.start(
    'kill bill stand-in',
    startKillBillStandin({ port: 0, retrySchedule: [200, 1000, 5000] }),
    (kb) => kb.close(),
  );
  detail(`Kill Bill stand-in at ${killbill.url} (admin/password)`);
  return { redis: redis.server, cloudkitty, killbillUrl: killbill.url };
}

/** The bridge's whole configuration, as environment: the demo runs on it, and prints it for the CLI. */
function bridgeEnvFor(stack: Stack, port: number): Record<string, string> {
  return {
    REDIS_URL: stack.redis.url,
    BRIDGE_REDIS_PREFIX: 'osb',
    KILLBILL_URL: stack.killbillUrl,
    KILLBILL_USERNAME: 'admin',
    KILLBILL_PASSWORD: 'password',
    KILLBILL_API_KEY: 'demo',
    KILLBILL_API_SECRET: 'demo-secret',
    // No Keystone: an openrc sourced in the user's shell must not send the CLI to another cloud.
    OS_AUTH_URL: '',
    CLOUDKITTY_URL: stack.cloudkitty.url,
    // The demo posts rated usage itself, without cloudkitty-processor: no project ever gets a scope state.
    CLOUDKITTY_SCOPE_STATE: 'optional',
    PORT: String(port),
    BRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    BRIDGE_CALLBACK_TOKEN: 'demo-callback-token-not-for-production',
    BRIDGE_SYNC_EVERY: '1h',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
  };
}

interface Bridge extends Reporting {
  runtime: BridgeRuntime;
  apiPort: number;
}

async function startBridge(config: BridgeConfig): Promise<Bridge> {
  const logger = createLogger({ level: config.log.level, name: 'bridge-demo' });
  const kb = new SeedingKillBillClient(config.killbill);

  say('Setting up Kill Bill: tenant, catalog, push-notification callback');
  detail(`tenant demo: ${(await kb.createTenant()) ? 'created' : 'already there'}`);
  await kb.uploadCatalogXml(readFileSync('catalog/catalog.xml', 'utf8'));
  detail(
    'catalog/catalog.xml uploaded (units openstack-billed-instance, openstack-billed-vcpus at 0.01 USD)',
  );
  const api = await life.start(
    'bridge api',
    (async () => {
      const service = new ApiService({ config, logger, host: '127.0.0.1' });
      await service.start();
      return service;
    })(),
    (service) => service.stop(),
  );
  const runtime = createBridgeRuntime(config, logger);
  await life.start(
    'bridge workers',
    (async () => {
      const workers = new WorkerService(runtime);
      await workers.start();
      return workers;
    })(),
    async (workers) => (await workers.stop(), await runtime.close()),
  );
  await waitFor('the bridge registered its callback', () => api.callbacksRegistered, { timeoutMs: 20_000 });
  detail(`callback registered: ${config.server.publicUrl}/killbill/notifications?token=********`);
  return { config, kb, runtime, apiPort: api.port };
}

async function createAccounts({ config, kb, runtime }: Bridge, startDate: string): Promise<DemoAccount[]> {
  say('Creating two accounts with their OpenStack fields and a subscription each, through the Kill Bill API');
  const accounts: DemoAccount[] = [];
  for (const p of PROJECTS) {
    const metrics = p.metrics.join(',');
    const accountId = await kb.createAccount({ name: p.name, currency: 'USD', externalKey: p.name });
    await kb.addAccountCustomFields(accountId, [
      { name: FIELD.enabled, value: 'true' },
      { name: FIELD.projectId, value: p.projectId },
      { name: FIELD.metrics, value: metrics },
    ]);
    const subscriptionId = await kb.createSubscription(accountId, config.killbill.planName, startDate);
    const units = p.metrics.map((m) => config.metering.metricUnits[m]).filter((u): u is string => !!u);
    accounts.push({ accountId, subscriptionId, name: p.name, projectId: p.projectId, units });
    detail(`${p.name}: account ${accountId}, subscription ${subscriptionId}, metrics ${metrics}`);
  }
  await waitFor(
    'push notifications have told the bridge about both subscriptions',
    async () => (await runtime.registry.entries('demo')).filter((e) => e.status === 'metered').length === 2,
    { timeoutMs: 30_000 },
  );
  detail('the bridge learnt of both through push notifications: both are metered');
  return accounts;
}

async function seedAndSync(bridge: Bridge, cloudkitty: CloudKittyInstance, dayStart: number): Promise<void> {
  say('Seeding CloudKitty with a day of hourly rated usage for both projects');
  await cloudkitty.reset();
  await seedRatedUsage(cloudkitty.url, dayOfUsage(dayStart));
  detail(`24 hours from ${new Date(dayStart).toISOString()}`);

  say('Syncing: closed windows of rated usage into Kill Bill');
  const bar = new ProgressBar('   syncing');
  const results = await bridge.runtime.usageSync.runOnce({ mode: 'new' }, 4, (done, total) =>
    bar.update(done, total),
  );
  const failed = results.filter((r) => r.error);
  if (failed.length) throw new Error(`sync failed: ${failed.map((r) => r.error).join('; ')}`);
}

async function main(): Promise<void> {
  const stack = await startServers();
  const port = await freePort();
  const bridgeEnv = bridgeEnvFor(stack, port);
  const { config } = loadConfig({ searchPath: [], env: bridgeEnv });
  const bridge = await startBridge(config);

  const now = Date.now();
  const dayStart = Math.floor(now / HOUR) * HOUR - 27 * HOUR;
  const accounts = await createAccounts(bridge, new Date(dayStart - 24 * HOUR).toISOString().slice(0, 10));
  await seedAndSync(bridge, stack.cloudkitty, dayStart);
  await compareWithCloudKitty(bridge, stack.cloudkitty.url, accounts, dayStart);
  await previewInvoices(bridge, accounts, now, (id) =>
    bridge.runtime.registry.entry(config.killbill.apiKey, id),
  );

  if (options.keepRunning) {
    say('Left running:');
    const lines = leftRunningLines({
      bridgeEnv,
      apiUrl: `http://127.0.0.1:${bridge.apiPort}`,
      killbillUrl: stack.killbillUrl,
      cloudkittyUrl: stack.cloudkitty.url,
      redisUrl: stack.redis.url,
      pid: process.pid,
    });
    for (const line of lines) detail(line);
    // The servers keep the process alive; a signal ends it through the lifecycle.
    await new Promise(() => {});
  }
}

main()
  .then(async () => {
    say('Stopping everything the demo started');
    await life.stopAll();
    detail('done: no process or temp folder left behind');
    life.exit('', 0);
  })
  .catch((err: Error) => {
    // A signal is already stopping everything and will exit; the flow only noticed.
    if (err instanceof Interrupted || life.isStopping) return;
    life.exit(`demo failed: ${err.message}`, 1);
  });
