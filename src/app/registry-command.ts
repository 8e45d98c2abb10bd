import type { Command } from 'commander';
import type { BridgeConfig } from '../config/index.js';
import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import type { Logger } from '../logging/logger.js';
import { AccountRegistrar } from '../registry/account-registrar.js';
import type { RegistryProblem, SubscriptionEntry } from '../registry/metered-subscription.js';
import type { RedisClient } from '../jobs/redis-connection.js';
import { RegistryStore } from '../registry/registry-store.js';
import { EXIT_FAILURE, loadConfigOrExit, startLogger, type GlobalOptions } from './startup.js';
import { writeJsonDocument } from './json-document.js';

interface RegistryOptions extends GlobalOptions {
  account?: string;
  json?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A reason the command cannot do its job; printed as one line, exit 1. */
class CommandFailure extends Error {}

/** Runs a command body; an unreachable service or a refused Kill Bill call becomes one line and exit 1. */
async function run(config: BridgeConfig, body: (store: RegistryStore) => Promise<void>): Promise<void> {
  // Loaded here, not at the top, so that `bridge --help` and the other commands do not pay for them.
  const [{ connectRedisOnce }, { KillBillError, UnreachableError }, { unreachableOf }] = await Promise.all([
    import('../jobs/redis-connection.js'),
    import('../errors/index.js'),
    import('./unreachable.js'),
  ]);
  let redis: RedisClient | undefined;
  try {
    redis = await connectRedisOnce(config.redis);
    await body(new RegistryStore(redis, config.redis.prefix));
  } catch (err) {
    if (!(err instanceof CommandFailure || err instanceof KillBillError || err instanceof UnreachableError))
      throw err;
    const line = unreachableOf(err, { redis: config.redis.url, killbill: config.killbill.url }) ?? err;
    process.stderr.write(`bridge: ${line.message}\n`);
    process.exitCode = EXIT_FAILURE;
  } finally {
    redis?.disconnect();
  }
}

interface TenantCounts {
  tenant: string;
  accounts: number;
  metered: number;
  notMetered: number;
  conflicts: number;
  problems: number;
}

/** The tenant's account records in pages, or only `accountId`'s (null when the registry does not hold it). */
async function* accountRecordsOf(store: RegistryStore, tenant: string, accountId?: string) {
  if (accountId) yield [await store.account(tenant, accountId)];
  else yield* store.accountRecords(tenant);
}

async function countsOf(store: RegistryStore, tenant: string, accountId?: string): Promise<TenantCounts> {
  const entries = (await store.entries(tenant)).filter((e) => !accountId || e.accountId === accountId);
  let [accounts, problems] = [0, 0];
  for await (const page of accountRecordsOf(store, tenant, accountId))
    for (const record of page) {
      accounts++;
      problems += record?.problems.length ?? 0;
    }
  return {
    tenant,
    accounts,
    metered: entries.filter((e) => e.status === 'metered').length,
    notMetered: entries.filter((e) => e.status === 'not-metered').length,
    conflicts: entries.filter((e) => e.status === 'conflict').length,
    problems,
  };
}

const countsLine = (c: TenantCounts) =>
  `tenant ${c.tenant}: ${c.accounts} account(s), ${c.metered} metered, ${c.notMetered} not metered, ` +
  `${c.conflicts} in conflict, ${c.problems} problem(s)${c.problems > 0 ? ' (see `bridge registry show`)' : ''}`;

/** The tenant whose Kill Bill knows the account, else the one whose registry still holds it (to drop it). */
async function tenantOf(clients: Map<string, KillBillClient>, store: RegistryStore, accountId: string) {
  for (const [tenant, kb] of clients) if (await kb.getAccount(accountId)) return tenant;
  for (const tenant of clients.keys()) if (await store.account(tenant, accountId)) return tenant;
  return undefined;
}

async function sync(config: BridgeConfig, logger: Logger, opts: RegistryOptions): Promise<void> {
  const { createTenantClients } = await import('../clients/killbill/tenant-clients.js');
  const clients = createTenantClients(config);
  await run(config, async (store) => {
    // A line per account (and per problem) is noise for a person reading counts; the problems are counted
    // here and listed by `registry show`. LOG_LEVEL=debug brings the lines back.
    const registrar = new AccountRegistrar({
      clients,
      store,
      metricUnits: config.metering.metricUnits,
      concurrency: config.registry.concurrency,
      pageSize: config.registry.pageSize,
      logger: logger.isLevelEnabled('debug') ? logger : logger.child({}, { level: 'error' }),
    });
    if (opts.account) {
      if (!UUID.test(opts.account)) throw new CommandFailure(`${opts.account} is not a Kill Bill account id`);
      const tenant = await tenantOf(clients, store, opts.account);
      if (!tenant) throw new CommandFailure(`no configured tenant knows account ${opts.account}`);
      await registrar.refreshAccount(tenant, opts.account);
      process.stdout.write(`${countsLine(await countsOf(store, tenant, opts.account))}\n`);
      return;
    }
    for (const tenant of clients.keys()) {
      await registrar.reconcileTenant(tenant);
      process.stdout.write(`${countsLine(await countsOf(store, tenant))}\n`);
    }
  });
}

/** What `show --json` prints per subscription: the entry, its tenant, and who it conflicts with. */
type ShownEntry = Omit<SubscriptionEntry, 'tenantApiKey'> & { tenant: string; conflictsWith?: string[] };

interface RegistryReport {
  tenants: Array<{ tenant: string; lastReconcile: string | null; accounts: number }>;
  metered: ShownEntry[];
  notMetered: ShownEntry[];
  problems: Array<RegistryProblem & { tenant: string }>;
}

async function report(store: RegistryStore, tenants: string[], accountId?: string): Promise<RegistryReport> {
  const out: RegistryReport = { tenants: [], metered: [], notMetered: [], problems: [] };
  for (const tenant of tenants) {
    const last = await store.lastReconcile(tenant);
    const accounts = await store.accountCount(tenant);
    out.tenants.push({
      tenant,
      lastReconcile: last ? new Date(last.at).toISOString() : null,
      accounts,
    });
    const all = await store.entries(tenant);
    for (const { tenantApiKey: _t, ...e } of all) {
      if (accountId && e.accountId !== accountId) continue;
      if (e.status === 'metered') {
        out.metered.push({ tenant, ...e });
        continue;
      }
      // The store names the other subscriptions only inside the reason text; list them for scripts.
      const conflictsWith =
        e.status === 'conflict'
          ? all
              .filter((o) => o.status === 'conflict' && o.projectId === e.projectId)
              .map((o) => o.subscriptionId)
              .filter((id) => id !== e.subscriptionId)
          : undefined;
      out.notMetered.push({ tenant, ...e, ...(conflictsWith ? { conflictsWith } : {}) });
    }
    for await (const page of accountRecordsOf(store, tenant, accountId))
      for (const p of page.flatMap((record) => record?.problems ?? [])) out.problems.push({ tenant, ...p });
  }
  return out;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

const day = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, 'Z') : '-');

function render(r: RegistryReport): string {
  const out: string[] = [];
  for (const t of r.tenants) {
    out.push(
      t.lastReconcile
        ? `tenant ${t.tenant}: ${t.accounts} account(s), last reconciled ${day(t.lastReconcile)}`
        : `tenant ${t.tenant}: never reconciled (run \`bridge registry sync\`)`,
    );
  }
  out.push('', `Metered (${r.metered.length}):`);
  if (r.metered.length > 0) {
    const rows = r.metered.map((e) => [
      e.subscriptionId,
      e.accountId,
      e.projectId ?? '-',
      [
        ...Object.entries(e.units).map(([m, u]) => `${m}→${u}`),
        ...e.unmetered.map((u) => `${u.metric}: not billed`),
      ].join(', '),
      day(e.since),
      day(e.until),
    ]);
    out.push(table(['SUBSCRIPTION', 'ACCOUNT', 'PROJECT', 'UNITS', 'SINCE', 'UNTIL'], rows));
  }
  out.push('', `Not metered (${r.notMetered.length}):`);
  if (r.notMetered.length > 0) {
    const rows = r.notMetered.map((e) => [
      e.subscriptionId,
      e.accountId,
      e.status,
      // The metrics are the why only when none can be billed; otherwise they would bury the real reason.
      [
        ...e.reasons,
        ...(e.reasons.includes('no metric can be billed')
          ? e.unmetered.map((u) => `metric ${u.metric}: ${u.reason}`)
          : []),
      ].join('; ') || '-',
    ]);
    out.push(table(['SUBSCRIPTION', 'ACCOUNT', 'STATUS', 'WHY'], rows));
  }
  if (r.problems.length > 0) {
    out.push('', `Problems to fix in Kill Bill (${r.problems.length}):`);
    const rows = r.problems.map((p) => [
      p.accountId,
      p.subscriptionId ?? '-',
      p.field ?? '-',
      p.value === undefined ? '-' : JSON.stringify(p.value),
      p.message,
    ]);
    out.push(table(['ACCOUNT', 'SUBSCRIPTION', 'FIELD', 'VALUE', 'PROBLEM'], rows));
  }
  return `${out.join('\n')}\n`;
}

async function show(config: BridgeConfig, opts: RegistryOptions): Promise<void> {
  const tenants = [config.killbill.apiKey, ...config.killbill.extraTenants.map((t) => t.apiKey)];
  await run(config, async (store) => {
    const r = await report(store, tenants, opts.account);
    if (opts.json) await writeJsonDocument(process.stdout, r);
    else process.stdout.write(render(r));
  });
}

/** `bridge registry sync|show`: rebuild the registry from Kill Bill now, and say what is metered and why not. */
export function registerRegistryCommand(program: Command): void {
  const registry = program
    .command('registry')
    .description('which Kill Bill subscriptions are metered, and why the others are not');
  const configOf = (opts: GlobalOptions) =>
    loadConfigOrExit({ config: opts.config ?? program.opts<GlobalOptions>().config });

  registry
    .command('sync')
    .description('re-read Kill Bill now (every account of every tenant, or one account) and print counts')
    .option('-c, --config <path>', 'YAML config file')
    .option('--account <id>', 'refresh only this Kill Bill account')
    .action(async (opts: RegistryOptions) => {
      const loaded = configOf(opts);
      await sync(loaded.config, startLogger(loaded, 'registry'), opts);
    });

  registry
    .command('show')
    .description('list metered subscriptions, and for the others why not (reasons, metrics, conflicts)')
    .option('-c, --config <path>', 'YAML config file')
    .option('--account <id>', 'only this Kill Bill account')
    .option('--json', 'print JSON instead of tables')
    .action(async (opts: RegistryOptions) => {
      const loaded = configOf(opts);
      // No logger here: the output is the report, and with --json it must stay parseable.
      for (const n of loaded.notices) process.stderr.write(`note: ${n}\n`);
      await show(loaded.config, opts);
    });
}
