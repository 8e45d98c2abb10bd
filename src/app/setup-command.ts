import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { BridgeConfig } from '../config/index.js';
import { CallbackTokens, type TokenRedis } from '../intake/callback-token.js';
import type { SetupSettings } from '../setup/kill-bill-setup.js';
import { renderReportJson, renderStep, type SetupReport } from '../setup/setup-report.js';
import { SetupInputError } from '../errors/index.js';
import { parseSetupInput, type SetupInput } from '../setup/setup-request.js';
import { EXIT_FAILURE, loadConfigOrExit, type GlobalOptions } from './startup.js';

/**
 * The shipped catalog, found from this file: src/app in a checkout, dist/src/app once built. Not from the
 * working directory, so `bridge setup` run from anywhere uploads the same file.
 */
function shippedCatalogPath(): string {
  const candidates = ['../../catalog/catalog.xml', '../../../catalog/catalog.xml'].map((p) =>
    fileURLToPath(new URL(p, import.meta.url)),
  );
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

type SetupOptions = SetupInput & GlobalOptions & { json?: boolean };

/** The setup's settings from the configuration; the token store reads Redis only when it must. */
export function setupSettings(config: BridgeConfig, redis: () => Promise<TokenRedis>): SetupSettings {
  return {
    killbillUrl: config.killbill.url,
    username: config.killbill.username,
    planName: config.killbill.planName,
    publicUrl: config.server.publicUrl,
    callbackTokens: new CallbackTokens({
      configured: config.server.callbackToken,
      prefix: config.redis.prefix,
      redis,
    }),
    metricUnits: config.metering.metricUnits,
  };
}

async function runSetup(opts: SetupOptions, program: Command): Promise<void> {
  const configPath = opts.config ?? program.opts<GlobalOptions>().config;
  const { config } = loadConfigOrExit({ config: configPath });
  const colour = !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR;
  const print = (report: SetupReport) => {
    if (opts.json) process.stdout.write(`${renderReportJson(report)}\n`);
    process.exitCode = report.ok ? 0 : EXIT_FAILURE;
  };

  let request;
  try {
    request = parseSetupInput(opts, config.metering.metricUnits, shippedCatalogPath());
  } catch (err) {
    if (!(err instanceof SetupInputError)) throw err;
    // Refused before any call: a wrong id must not leave a half-done setup behind.
    const step = { step: err.step, status: 'failed' as const, detail: err.message };
    if (!opts.json) process.stdout.write(`${renderStep(step, colour)}\n`);
    print({ ok: false, dryRun: opts.dryRun === true, steps: [step] });
    return;
  }

  // Loaded only now: a refused input, `--help` and the other commands do not pay for them.
  const [{ createTenantClients }, { KillBillSetup }, { redisOnDemand }] = await Promise.all([
    import('../clients/killbill/tenant-clients.js'),
    import('../setup/kill-bill-setup.js'),
    import('./redis-once.js'),
  ]);
  const client = createTenantClients(config).get(config.killbill.apiKey)!;
  // Only the callback step may need Redis, and only when no token is configured.
  const redis = redisOnDemand(config.redis);
  const setup = new KillBillSetup(client, request, setupSettings(config, redis.get), (step) => {
    if (!opts.json) process.stdout.write(`${renderStep(step, colour)}\n`);
  });
  let report: SetupReport;
  try {
    report = await setup.run();
  } catch (err) {
    // Each step catches its own errors; this is a bug, still reported in one line, without a stack.
    const detail = err instanceof Error ? err.message : String(err);
    const step = { step: 'setup', status: 'failed' as const, detail };
    if (!opts.json) process.stdout.write(`${renderStep(step, colour)}\n`);
    report = { ok: false, dryRun: request.dryRun, steps: [step] };
  } finally {
    redis.close();
  }
  if (!opts.json && request.dryRun) process.stdout.write('dry run: nothing was written to Kill Bill\n');
  print(report);
}

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      'prepare Kill Bill for the bridge, step by step: check it answers, create the tenant, upload the ' +
        'catalog, register the callback, and link an account to an OpenStack project. Idempotent: a step ' +
        'already in place says "already done". Exit 0 when every step succeeded, 1 when one failed, 2 on a ' +
        'configuration problem',
    )
    .option('-c, --config <path>', 'YAML config file')
    .option(
      '--create-tenant',
      'create the tenant of KILLBILL_API_KEY / KILLBILL_API_SECRET if Kill Bill lacks it',
    )
    .option(
      '--catalog <path>',
      'catalog XML to upload (default: the catalog/catalog.xml shipped with the bridge)',
    )
    .option('--account <id>', 'Kill Bill account to meter (needs --project)')
    .option('--project <id>', 'Keystone project id whose rated usage the account pays for')
    .option(
      '--metrics <list>',
      "CloudKitty metric types to bill, comma-separated, e.g. instance,vcpus (default: keep the account's " +
        'choice, or every metric of metering.metricUnits when it has none)',
    )
    .option('--dry-run', 'print what would be done; read Kill Bill but write nothing')
    .option('--json', 'print the steps as JSON')
    .action((opts: SetupOptions) => runSetup(opts, program));
}
