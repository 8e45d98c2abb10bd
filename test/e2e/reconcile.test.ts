import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { createRedisConnection } from '../../src/jobs/redis-connection.js';
import { runBridge, type CliRun } from '../support/bridge-cli.js';
import { startCloudKitty, seedRatedUsage, type CloudKittyInstance } from '../support/cloudkitty.js';
import {
  moveClockDays,
  resetClock,
  startKillBill,
  tenantHeaders,
  waitForQueues,
  type KillBillServer,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import {
  UNITS,
  exactTotal,
  kbGet,
  seedScenario,
  setUpTenant,
  type Customer,
  type Invoice,
  type BridgeStack,
  type Metric,
} from './real-killbill-stack.js';
import { reconcileEnv, type ReconcileDoc } from './reconcile-cli.js';

const HOUR = 3_600_000;
const cents = (c: Customer, metric: Metric) =>
  exactTotal(c.usage.filter((u) => u.metric === metric))
    .times(100)
    .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
    .toNumber();

/**
 * `bridge reconcile` as an operator runs it (a subprocess), against the REAL Kill Bill (0.22.26 here) and a
 * real CloudKitty: the open period is proven through Kill Bill's dry run, the closed one through its real
 * invoice; usage CloudKitty rates after the sync shows as exactly that difference, and `--fix` records it.
 * The period is last month: the sync only corrects periods inside the late-usage horizon of the real now.
 */
describe('bridge reconcile: Kill Bill bills what CloudKitty rated (e2e)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  const cleanups: Array<() => Promise<void>> = [];
  let tenant: KillBillTenant;
  let list: Customer[];
  let cliEnv: Record<string, string>;
  let stack: BridgeStack;
  let shimmed = () => 0;
  const today = new Date();
  const month = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
  const next = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
  const period = month.toISOString().slice(0, 7);

  const reconcile = (...args: string[]) =>
    runBridge(['reconcile', '--period', period, ...args], cliEnv, 120_000);
  const json = (run: CliRun) => JSON.parse(run.stdout) as ReconcileDoc;
  const lineOf = (doc: ReconcileDoc, c: Customer, metric: Metric) =>
    doc.lines.find((l) => l.subscriptionId === c.subscriptionId && l.unit === UNITS[metric]);

  /** The tenant's reconcile difference as a process serving /metrics reads it from Redis. */
  async function differenceMetric(): Promise<string> {
    const connection = createRedisConnection(stack.redis.url, 'worker');
    const metrics = BridgeMetrics.forConfig(stack.config);
    try {
      metrics.readFrom(connection, stack.config.redis.prefix);
      const text = await metrics.registry.getSingleMetricAsString('bridge_reconcile_difference_cents');
      return text
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n');
    } finally {
      await metrics.close();
      connection.disconnect();
    }
  }

  /** Every metered (customer, metric) with the cents Kill Bill must bill: CloudKitty's total, half-up. */
  const expectations = () =>
    list.flatMap((c) => c.metrics.map((metric) => ({ c, metric, want: cents(c, metric) })));

  before(async function () {
    this.timeout(10 * 60_000);
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
    // setUpTenant puts the 0.22 shim in front of a 0.22 server: it rewrites reconcile's reads too.
    const env = await setUpTenant(server, cloudkitty.url, month, cleanups);
    shimmed = () => env.shim?.reads ?? 0;
    ({ tenant, list, stack } = env);
    await seedRatedUsage(cloudkitty.url, seedScenario(month, list, 5, [49, 50, 51]));
    const results = await env.stack.sync(month, next);
    expect(results.filter((r) => r.error)).to.deep.equal([]);
    cliEnv = reconcileEnv(env.stack);
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
    if (tenant) await resetClock(tenant, 30);
  });

  it('proves the open period through the dry run: every difference 0.00, exit 0; --json and --account', async function () {
    this.timeout(3 * 60_000);
    const text = await reconcile();
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/every difference is 0/);
    expect(text.stdout).to.match(
      /total USD: CloudKitty \d+\.\d\d, billed \d+\.\d\d, credited 0\.00, difference 0\.00/,
    );

    const doc = json(await reconcile('--json'));
    expect(doc.period).to.equal(period);
    expect(doc.ok).to.equal(true);
    expect(doc.lines).to.have.length(expectations().length);
    for (const { c, metric, want } of expectations()) {
      const l = lineOf(doc, c, metric)!;
      expect(l, `${c.name} ${metric}`).to.include({
        accountId: c.accountId,
        currency: 'USD',
        periodStart: month.toISOString(),
        periodEnd: next.toISOString(),
        cloudkittyCents: want,
        recordedCents: want,
        invoicedCents: 0,
        toBeInvoicedCents: want,
        creditedCents: 0,
        differenceCents: 0,
      });
    }

    const b = list[1]!;
    const only = json(await reconcile('--account', b.accountId, '--json'));
    expect(only.lines.map((l) => [l.accountId, l.unit])).to.deep.equal([[b.accountId, UNITS.instance]]);
    console.log(
      `      [KB ${server.version}] open ${period}: ${doc.lines.map((l) => `${l.unit.slice(17)} ${l.cloudkittyCents}¢=${l.toBeInvoicedCents}¢`).join(', ')}; ${shimmed()} reads rewritten for 0.22`,
    );
  });

  it('proves the invoiced period once Kill Bill’s clock passes its end', async function () {
    this.timeout(4 * 60_000);
    await moveClockDays(tenant, Math.round((+next - +month) / 86_400_000), 60);
    await waitForQueues(tenant, 60);
    for (const c of list) {
      await waitFor(
        `Kill Bill has invoiced ${c.name}`,
        async () =>
          (await kbGet<Invoice[]>(tenant, `/1.0/kb/accounts/${c.accountId}/invoices?withItems=true`)).some(
            (i) => i.items.some((it) => it.itemType === 'USAGE'),
          ),
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    }
    const run = await reconcile('--json');
    expect(run.code, run.stderr).to.equal(0);
    for (const { c, metric, want } of expectations()) {
      expect(lineOf(json(run), c, metric), `${c.name} ${metric}`).to.include({
        invoicedCents: want,
        toBeInvoicedCents: 0,
        differenceCents: 0,
      });
    }
  });

  it('shows usage CloudKitty rated after the sync as exactly that difference; --fix records it', async function () {
    this.timeout(5 * 60_000);
    const [a] = list as [Customer];
    const before = cents(a, 'instance');
    const added: RatedUsage[] = [0.1234, 0.2007].map((price, i) => ({
      begin: new Date(month.getTime() + (19 * 24 + 3 + i) * HOUR),
      projectId: a.projectId,
      metric: 'instance',
      price: price.toFixed(4),
      resourceId: `${a.projectId}-late`,
    }));
    a.usage.push(...added);
    await seedRatedUsage(cloudkitty.url, added);
    const delta = cents(a, 'instance') - before;
    expect(delta).to.equal(32);

    const off = await reconcile();
    expect(off.code, off.stderr).to.equal(1);
    expect(off.stdout).to.match(/1 line\(s\) differ/);
    expect(off.stdout).to.match(/difference 0\.32\n/);
    expect(await differenceMetric()).to.equal(
      `bridge_reconcile_difference_cents{tenant="${tenant.apiKey}"} 32`,
    );
    const doc = json(await reconcile('--json'));
    expect(doc.ok).to.equal(false);
    for (const { c, metric } of expectations()) {
      const want = c === a && metric === 'instance' ? delta : 0;
      expect(lineOf(doc, c, metric)!.differenceCents, `${c.name} ${metric}`).to.equal(want);
    }

    const fixed = await reconcile('--fix', '--json');
    expect(fixed.code, fixed.stderr).to.equal(0);
    expect(json(fixed).fix!.totals.records).to.be.greaterThan(0);
    const again = await reconcile('--json');
    expect(again.code, again.stderr).to.equal(0);
    expect(await differenceMetric()).to.equal(
      `bridge_reconcile_difference_cents{tenant="${tenant.apiKey}"} 0`,
    );
    const line = lineOf(json(again), a, 'instance')!;
    expect(line).to.include({
      cloudkittyCents: before + delta,
      recordedCents: before + delta,
      differenceCents: 0,
    });
    expect(line.invoicedCents + line.toBeInvoicedCents).to.equal(before + delta);
    // What 0.22.26 answers to the 0.24 reads, unshimmed (the report says what differs).
    const raw = await fetch(
      `${tenant.url}/1.0/kb/usages/${a.subscriptionId}?startDate=${month.toISOString()}&endDate=${next.toISOString()}`,
      { headers: tenantHeaders(tenant) },
    );
    console.log(
      `      [KB ${server.version}] late +${delta}¢ on ${a.name}: reconcile exit 1, --fix recorded ` +
        `${json(fixed).fix!.totals.records}+${json(fixed).fix!.totals.corrections} correction(s), then exit 0 ` +
        `(invoiced ${line.invoicedCents}¢ + dry run ${line.toBeInvoicedCents}¢); raw usage GET with date-times: ${raw.status}`,
    );
  });
});
