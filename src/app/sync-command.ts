import type { Command } from 'commander';
import type { LoadedConfig } from '../config/index.js';
import { describeIdle, groupIdle, type IdleGroup, type IdleReason } from '../sync/idle-reasons.js';
import type { SubscriptionSyncResult } from '../sync/subscription-sync.js';
import type { SyncRunReport } from '../sync/usage-sync.js';
import { ProgressBar } from './progress-bar.js';
import { writeJsonDocument } from './json-document.js';
import type { DependencyWatch } from './dependency-watch.js';
import {
  EXIT_CONFIG,
  EXIT_FAILURE,
  dependencyUrls,
  loadConfigOrExit,
  needCloudKitty,
  startLogger,
  type GlobalOptions,
} from './startup.js';

interface SyncOptions {
  once?: boolean;
  from?: string;
  to?: string;
  account?: string;
  recheck?: boolean;
  json?: boolean;
}

function utcDate(text: string, flag: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z)?$/.test(text)
    ? new Date(text.length === 10 ? `${text}T00:00:00Z` : text)
    : null;
  if (!d || Number.isNaN(d.getTime())) {
    process.stderr.write(
      `bridge: ${flag} expects a UTC date (YYYY-MM-DD or YYYY-MM-DDTHH:MMZ), got ${JSON.stringify(text)}\n`,
    );
    process.exit(EXIT_CONFIG);
  }
  return d;
}

type Counted = 'records' | 'corrections' | 'alreadyRecorded' | 'lateDifferences';
type CreditCounts = 'credits' | 'alreadyCredited' | 'creditedCents';
type Totals = Record<Counted | CreditCounts | 'failed', number>;

function totalsOf(results: SubscriptionSyncResult[]): Totals {
  const sum = (k: Counted | CreditCounts) => results.reduce((a, r) => a + (r[k] ?? 0), 0);
  return {
    records: sum('records'),
    corrections: sum('corrections'),
    alreadyRecorded: sum('alreadyRecorded'),
    lateDifferences: sum('lateDifferences'),
    credits: sum('credits'),
    alreadyCredited: sum('alreadyCredited'),
    creditedCents: sum('creditedCents'),
    failed: results.filter((r) => r.error).length,
  };
}

/**
 * What a run did, and for every subscription that recorded nothing, why: "0 records" alone cannot tell
 * "nothing is due yet" from "something is stuck".
 */
export function summarize(report: SyncRunReport): string {
  const t = totalsOf(report.results);
  const lines = [
    `${report.metered} metered subscription(s), ${report.results.length} synced: ${t.records} record(s) sent, ` +
      `${t.corrections} correction(s), ${t.alreadyRecorded} already recorded, ` +
      // Said only when there are any: downward corrections of invoiced periods are rare.
      (t.credits + t.alreadyCredited > 0
        ? `${t.credits + t.alreadyCredited} credit(s) of ${centsText(t.creditedCents)} given, `
        : '') +
      `${t.lateDifferences} late difference(s) reported, ${t.failed} failed`,
  ];
  const unattributed = report.unattributed ?? [];
  if (unattributed.length > 0)
    lines.push(
      `usage of ${unattributed.length} project(s) belongs to no metered subscription (a stack none names): ` +
        'reported in the log (sync.unattributed), not billed; see docs/clusters.md',
    );
  const groups = Object.entries(groupIdle(report.idle)) as Array<[IdleReason, IdleGroup]>;
  if (groups.length > 0) lines.push(`nothing recorded for ${report.idle.length}:`);
  for (const [reason, g] of groups)
    lines.push(`  ${describeIdle(reason, g.count, g.at ? new Date(g.at) : undefined)}`);
  return lines.join('\n');
}

/** Whole cents as money text, without floats: 1234 → "12.34". */
function centsText(cents: number): string {
  const abs = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** The `--json` document: totals, each synced subscription's result, and the idle ones grouped by reason. */
export function reportJson(report: SyncRunReport) {
  return {
    metered: report.metered,
    synced: report.results.length,
    totals: totalsOf(report.results),
    results: report.results,
    idle: groupIdle(report.idle),
    unattributed: report.unattributed ?? [],
  };
}

/** One run in this process: connects to Redis once (a person is waiting), syncs, says what happened. */
async function syncNow(loaded: LoadedConfig, opts: SyncOptions, from?: Date, to?: Date): Promise<void> {
  const { config } = loaded;
  // Loaded here, not at the top: `bridge --help` and the other commands should not pay for them.
  const [{ createBridgeRuntime }, { connectRedisOnce }, { DependencyWatch }, { unreachableOf }] =
    await Promise.all([
      import('./bridge-runtime.js'),
      import('../jobs/redis-connection.js'),
      import('./dependency-watch.js'),
      import('./unreachable.js'),
    ]);
  const logger = startLogger(loaded, 'bridge-sync');
  const watch = new DependencyWatch({
    logger,
    retrying: {
      killbill: 'what failed is retried by the next sync',
      cloudkitty: 'retrying a few times, then giving up',
      keystone: 'retrying a few times, then giving up',
    },
  });
  let redis;
  try {
    redis = await connectRedisOnce(config.redis);
  } catch (err) {
    process.stderr.write(`bridge: ${(err as Error).message}\n`);
    process.exitCode = EXIT_FAILURE;
    return;
  }
  const runtime = createBridgeRuntime(config, logger, { watch, redis });
  const bar = new ProgressBar('syncing', opts.json ? process.stderr : process.stdout);
  let report: SyncRunReport;
  try {
    report = await runtime.usageSync.runOnceReport(
      { mode: opts.recheck || from ? 'recheck' : 'new', from, to, accountId: opts.account },
      config.metering.concurrency,
      (done, total, r) => bar.update(done, total, r.error ? `✗ ${r.subscriptionId}` : ''),
    );
  } catch (err) {
    const why = unreachableOf(err, dependencyUrls(config)) ?? (err as Error);
    process.stderr.write(`bridge: sync failed, nothing more was recorded: ${why.message}\n`);
    process.exitCode = EXIT_FAILURE;
    return;
  } finally {
    await runtime.close();
  }
  await printReport(report, opts, watch);
}

/** The run's report on stdout, then what to act on on stderr; a report that cannot be written is not the sync failing. */
async function printReport(report: SyncRunReport, opts: SyncOptions, watch: DependencyWatch): Promise<void> {
  try {
    if (opts.json) await writeJsonDocument(process.stdout, reportJson(report));
    else process.stdout.write(`${summarize(report)}\n`);
  } catch (err) {
    process.stderr.write(
      `bridge: the sync ran, but its report could not be written: ${(err as Error).message}\n`,
    );
    process.exitCode = EXIT_FAILURE;
  }
  // Failed subscriptions carry their own errors; a service that was down is the reason to act on.
  for (const dependency of ['killbill', 'cloudkitty', 'keystone', 'redis'] as const) {
    const problem = watch.problem(dependency);
    if (problem) process.stderr.write(`bridge: ${problem}\n`);
  }
  if (report.results.some((r) => r.error)) process.exitCode = EXIT_FAILURE;
}

export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description(
      'record closed windows of CloudKitty rated usage in Kill Bill now, say why any subscription recorded ' +
        'nothing, then exit',
    )
    .option('--once', 'everything closed up to now (the default when no range is given)')
    .option('--from <date>', 'backfill from this UTC date (YYYY-MM-DD), inclusive')
    .option('--to <date>', 'backfill up to this UTC date, exclusive')
    .option('--account <id>', 'only this Kill Bill account')
    .option('--recheck', 'also re-check recorded windows inside the late-usage horizon for re-rating')
    .option(
      '--json',
      'print one JSON document: totals, per-subscription results, and why the others recorded nothing (idle)',
    )
    .action(async (opts: SyncOptions, cmd: Command) => {
      const loaded = loadConfigOrExit({ config: cmd.optsWithGlobals<GlobalOptions>().config });
      needCloudKitty(loaded);
      const from = opts.from ? utcDate(opts.from, '--from') : undefined;
      const to = opts.to ? utcDate(opts.to, '--to') : undefined;
      if (from && to && from >= to) {
        process.stderr.write('bridge: --from must be before --to\n');
        process.exit(EXIT_CONFIG);
      }
      await syncNow(loaded, opts, from, to);
    });
}
