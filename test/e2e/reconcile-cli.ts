import { expect } from 'chai';
import type { ReconcileLine, ReconcileTotals } from '../../src/reconcile/reconcile-compare.js';
import { runBridge, type CliRun } from '../support/bridge-cli.js';
import { UNITS, type BridgeStack, type Customer, type Metric } from './real-killbill-stack.js';

/** What `bridge reconcile --json` prints. */
export interface ReconcileDoc {
  period: string;
  ok: boolean;
  lines: ReconcileLine[];
  totals: Record<string, ReconcileTotals>;
  fix?: { totals: Record<string, number> };
}

/**
 * The environment an operator would give `bridge` to reach what `stack` reaches: the same Redis (and prefix),
 * the same Kill Bill URL (the proxy chain in front of the server: the 0.22 shim, and any test proxy), tenant
 * and credentials, the same CloudKitty and scope-state rule, usage tz mode and metering settings. Derived from
 * the stack's own config, so a reconcile can never look at something other than what the sync wrote.
 */
export function reconcileEnv(stack: BridgeStack): Record<string, string> {
  const { redis, killbill, cloudkitty, server, metering } = stack.config;
  return {
    REDIS_URL: redis.url,
    BRIDGE_REDIS_PREFIX: redis.prefix,
    KILLBILL_URL: killbill.url,
    KILLBILL_USERNAME: killbill.username,
    KILLBILL_PASSWORD: killbill.password,
    KILLBILL_API_KEY: killbill.apiKey,
    KILLBILL_API_SECRET: killbill.apiSecret,
    KILLBILL_USAGE_TZ_MODE: killbill.usageTzMode,
    CLOUDKITTY_URL: cloudkitty.url,
    CLOUDKITTY_SCOPE_STATE: cloudkitty.scopeState,
    CLOUDKITTY_PAGE_SIZE: String(cloudkitty.pageSize),
    BRIDGE_CALLBACK_TOKEN: server.callbackToken,
    BRIDGE_WINDOW_SIZE: metering.windowSize.label,
    BRIDGE_SETTLE_DELAY: `${metering.settleDelayMs}ms`,
    BRIDGE_RATE_SCALE: String(metering.rateScale),
  };
}

/** `bridge reconcile --period PERIOD --json ARGS` as a subprocess: its exit code and its parsed document. */
export async function reconcileCli(
  stack: BridgeStack,
  period: string,
  args: string[] = [],
): Promise<{ run: CliRun; doc: ReconcileDoc }> {
  const run = await runBridge(
    ['reconcile', '--period', period, '--json', ...args],
    reconcileEnv(stack),
    120_000,
  );
  let doc: ReconcileDoc;
  try {
    doc = JSON.parse(run.stdout) as ReconcileDoc;
  } catch {
    throw new Error(
      `bridge reconcile exited ${run.code} without a JSON document: ${run.stderr.slice(-2000)}`,
    );
  }
  return { run, doc };
}

/** The key of a line in {@link expectReconciled}'s expectations. */
export const lineKey = (subscriptionId: string, unit: string, periodStart: Date | string) =>
  `${subscriptionId} ${unit} ${typeof periodStart === 'string' ? periodStart : periodStart.toISOString()}`;

/** Expectations for every unit the customers meter over the period starting at `periodStart`. */
export function wantOf(
  list: readonly Customer[],
  periodStart: Date,
  cents: (c: Customer, metric: Metric) => number,
): Record<string, number> {
  return Object.fromEntries(
    list.flatMap((c) =>
      c.metrics.map((m) => [lineKey(c.subscriptionId, UNITS[m], periodStart), cents(c, m)]),
    ),
  );
}

/**
 * Reconciles `period` and proves it: every line's difference 0, `ok`, exit 0; and the lines are exactly
 * `want` ({@link lineKey} → CloudKitty's cents, as the test computed them), so a reconcile that sees too
 * little (no line, or CloudKitty's column short alongside Kill Bill's) fails too. Returns the document.
 */
export async function expectReconciled(
  stack: BridgeStack,
  period: string,
  want: Record<string, number>,
  args: string[] = [],
): Promise<ReconcileDoc> {
  const { run, doc } = await reconcileCli(stack, period, args);
  const off = doc.lines.filter((l) => l.differenceCents !== 0);
  expect(off, `reconcile ${period}: lines that differ`).to.deep.equal([]);
  expect(doc.ok, `reconcile ${period}: ok`).to.equal(true);
  expect(run.code, `reconcile ${period} exit code; stderr: ${run.stderr.slice(-2000)}`).to.equal(0);
  const got = Object.fromEntries(
    doc.lines.map((l) => [lineKey(l.subscriptionId, l.unit, l.periodStart), l.cloudkittyCents]),
  );
  expect(got, `reconcile ${period}: CloudKitty's cents per subscription, unit and period`).to.deep.equal(
    want,
  );
  return doc;
}

/** One line for a test's console figures: what reconcile proved. */
export function reconciledFigures(doc: ReconcileDoc): string {
  const totals = Object.entries(doc.totals).map(
    ([currency, t]) =>
      `${currency} CloudKitty ${t.cloudkittyCents}¢, billed ${t.billedCents}¢, credited ${t.creditedCents}¢`,
  );
  return `reconcile ${doc.period}: ${doc.lines.length} lines, ${totals.join(', ')}, difference 0`;
}
