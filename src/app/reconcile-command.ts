import type { Command } from 'commander';
import type { LoadedConfig } from '../config/index.js';
import { centsToMoney, type Cents } from '../metering/index.js';
import type { ReconcileLine, ReconcileReport, UnattributedLine } from '../reconcile/reconcile-compare.js';
import type { Month } from '../reconcile/reconcile-run.js';
import type { BridgeRuntime } from './bridge-runtime.js';
import type { SyncRunReport } from '../sync/usage-sync.js';
import { formatAmount } from './money.js';
import { writeJsonDocument } from './json-document.js';
import {
  EXIT_CONFIG,
  EXIT_FAILURE,
  dependencyUrls,
  loadConfigOrExit,
  needCloudKitty,
  startLogger,
  type GlobalOptions,
} from './startup.js';
import { reportJson as syncJson, summarize as syncSummary } from './sync-command.js';

interface ReconcileOptions {
  period?: string;
  account?: string;
  json?: boolean;
  fix?: boolean;
}

const money = (cents: Cents, currency: string) => formatAmount(centsToMoney(cents).toString(), currency);

/** `--period YYYY-MM`, or a clear message and exit 2. */
function monthOf(text: string | undefined): Month {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(text ?? '');
  if (!m) {
    process.stderr.write(
      `bridge: --period expects a month as YYYY-MM (e.g. 2025-02), got ${JSON.stringify(text ?? '')}\n`,
    );
    process.exit(EXIT_CONFIG);
  }
  return { year: Number(m[1]), month: Number(m[2]) };
}

const COLUMNS = ['account', 'subscription', 'cluster', 'unit', 'period'] as const;

/** As concertim shows a cluster: its name and its Heat stack id. */
const cluster = (stackId: string | null, stackName: string | null) =>
  stackId === null ? '-' : stackName ? `${stackName} (${stackId})` : stackId;
const AMOUNTS = ['CloudKitty', 'recorded', 'invoiced', 'to invoice', 'credited', 'difference'] as const;

function row(l: ReconcileLine): string[] {
  const c = (cents: Cents) => money(cents, l.currency);
  return [
    l.accountId,
    l.subscriptionId,
    cluster(l.stackId, l.stackName),
    l.unit,
    `${l.periodStart.slice(0, 16)}Z..${l.periodEnd.slice(0, 16)}Z`,
    c(l.cloudkittyCents),
    // Recorded usage is counted in units of one cent (the catalog's price), so it reads as money too.
    c(l.recordedCents),
    c(l.invoicedCents),
    c(l.toBeInvoicedCents),
    c(l.creditedCents),
    c(l.differenceCents),
  ];
}

/** The table a person reads: one line per subscription and unit, then a total per currency. */
export function reconcileTable(report: ReconcileReport): string {
  const header = [...COLUMNS, ...AMOUNTS];
  const rows = [header, ...report.lines.map(row)];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const out = rows.map((r) =>
    r
      .map((cell, i) => (i >= COLUMNS.length ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  '),
  );
  if (report.lines.length === 0)
    out.push('no metered subscription has a billing period starting in this month');
  for (const [currency, t] of Object.entries(report.totals)) {
    out.push(
      `total ${currency}: CloudKitty ${money(t.cloudkittyCents, currency)}, billed ${money(t.billedCents, currency)}, ` +
        `credited ${money(t.creditedCents, currency)}, difference ${money(t.differenceCents, currency)}`,
    );
  }
  out.push(...report.unattributed.map(unattributedLine));
  const off = report.lines.filter((l) => l.differenceCents !== 0).length;
  out.push(off === 0 ? 'every difference is 0' : `${off} line(s) differ`);
  return out.join('\n');
}

/** Usage no subscription owns, per project: not a difference (nothing bills it), but never left unsaid. */
function unattributedLine(u: UnattributedLine): string {
  const stacks = u.stacks.map((s) => s ?? 'untagged').join(', ');
  const rated = Object.entries(u.rated)
    .map(([type, exact]) => `${type} ${exact}`)
    .join(', ');
  return (
    `unattributed: project ${u.projectId} (accounts ${u.accountIds.join(', ')}), stacks ${stacks}, ` +
    `${u.periodStart.slice(0, 16)}Z..${u.periodEnd.slice(0, 16)}Z: rated ${rated}, billed to no one (docs/clusters.md)`
  );
}

export function reconcileJson(period: string, report: ReconcileReport, fix?: SyncRunReport) {
  return {
    period,
    ok: report.ok,
    lines: report.lines,
    unattributed: report.unattributed,
    totals: report.totals,
    ...(fix ? { fix: syncJson(fix) } : {}),
  };
}

/** Records what is missing through the normal sync: a recheck over every period the report covers. */
async function fix(runtime: BridgeRuntime, report: ReconcileReport, accountId?: string) {
  const off = report.lines.filter((l) => l.differenceCents !== 0);
  const from = new Date(Math.min(...off.map((l) => Date.parse(l.periodStart))));
  const to = new Date(Math.max(...off.map((l) => Date.parse(l.periodEnd))));
  const windowMs = runtime.config.metering.windowSize.ms;
  // `to` is exclusive and aligned down by the sync: round it up so a cancellation's last hour is included.
  const end = new Date(Math.ceil(to.getTime() / windowMs) * windowMs);
  return runtime.usageSync.runOnceReport(
    { mode: 'recheck', from, to: end, accountId },
    runtime.config.metering.concurrency,
  );
}

/** The report (after the fix's summary, when there was one) as a table or JSON; exit 1 unless all is right. */
async function printReconcile(
  opts: ReconcileOptions,
  month: Month,
  report: ReconcileReport,
  fixed?: SyncRunReport,
): Promise<void> {
  const period = `${month.year}-${String(month.month).padStart(2, '0')}`;
  const text = [fixed ? `fix: ${syncSummary(fixed)}` : '', reconcileTable(report)].filter(Boolean);
  try {
    if (opts.json) await writeJsonDocument(process.stdout, reconcileJson(period, report, fixed));
    else process.stdout.write(`${text.join('\n')}\n`);
  } catch (err) {
    // Not "reconcile failed": the comparison (and any fix) ran; only its report is lost.
    process.stderr.write(
      `bridge: reconcile ran, but its report could not be written: ${(err as Error).message}\n`,
    );
    process.exitCode = EXIT_FAILURE;
  }
  if (!report.ok || fixed?.results.some((r) => r.error)) process.exitCode = EXIT_FAILURE;
}

async function reconcileNow(loaded: LoadedConfig, opts: ReconcileOptions, month: Month): Promise<void> {
  const { config } = loaded;
  // Loaded here, not at the top: `bridge --help` and the other commands should not pay for them.
  const [runtimeModule, { connectRedisOnce }, { DependencyWatch }, { unreachableOf }, run, store] =
    await Promise.all([
      import('./bridge-runtime.js'),
      import('../jobs/redis-connection.js'),
      import('./dependency-watch.js'),
      import('./unreachable.js'),
      import('../reconcile/reconcile-run.js'),
      import('../reconcile/reconcile-differences.js'),
    ]);
  const logger = startLogger(loaded, 'bridge-reconcile');
  const watch = new DependencyWatch({ logger });
  let redis;
  try {
    redis = await connectRedisOnce(config.redis);
  } catch (err) {
    process.stderr.write(`bridge: ${(err as Error).message}\n`);
    process.exitCode = EXIT_FAILURE;
    return;
  }
  const runtime = runtimeModule.createBridgeRuntime(config, logger, { watch, redis });
  const reconciler = new run.Reconciler({
    entries: async (accountId) => (await runtime.usageSync.syncableEntries(accountId)).metered,
    cloudkitty: runtime.usageSync.cloudkitty,
    clients: runtime.clients,
    windowSize: config.metering.windowSize,
    settleDelayMs: config.metering.settleDelayMs,
    scopeState: config.cloudkitty.scopeState,
    rateScale: config.metering.rateScale,
    tzMode: config.killbill.usageTzMode,
    attribution: runtime.usageSync.attribution,
    logger,
  });
  try {
    let report = await reconciler.run({ month, accountId: opts.account });
    let fixed: SyncRunReport | undefined;
    if (opts.fix && !report.ok) {
      fixed = await fix(runtime, report, opts.account);
      report = await reconciler.run({ month, accountId: opts.account });
    }
    // One account says nothing of its tenant as a whole: only a whole run sets the metric.
    if (!opts.account) await new store.ReconcileDifferences(redis, config.redis.prefix).save(report.byTenant);
    await printReconcile(opts, month, report, fixed);
  } catch (err) {
    const why = unreachableOf(err, dependencyUrls(config)) ?? (err as Error);
    process.stderr.write(`bridge: reconcile failed: ${why.message}\n`);
    process.exitCode = EXIT_FAILURE;
  } finally {
    await runtime.close();
  }
}

export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      'prove that Kill Bill bills what CloudKitty rated: per metered subscription and unit, the billing ' +
        'period starting in a month; exit 0 when every difference is 0, 1 otherwise',
    )
    .option('--period <YYYY-MM>', 'the month the billing periods start in (required)')
    .option('--account <id>', 'only this Kill Bill account')
    .option('--json', 'print one JSON document: per-line figures in cents, totals, ok')
    .option(
      '--fix',
      'record what is missing through the sync (a recheck of those periods), then reconcile again',
    )
    .action(async (opts: ReconcileOptions, cmd: Command) => {
      const month = monthOf(opts.period);
      const loaded = loadConfigOrExit({ config: cmd.optsWithGlobals<GlobalOptions>().config });
      needCloudKitty(loaded);
      await reconcileNow(loaded, opts, month);
    });
}
