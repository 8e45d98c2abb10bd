import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { accountCredits } from '../../src/clients/killbill/account-credits.js';
import { SeedingKillBillClient } from '../support/seeding-killbill-client.js';
import { formatCreditDescription, parseCreditDescription } from '../../src/metering/index.js';
import { KillBillError, SubscriptionSyncError, isRetryable } from '../../src/errors/index.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import type { SubscriptionSyncResult } from '../../src/sync/subscription-sync.js';
import { startCloudKitty, seedRatedUsage, type CloudKittyInstance } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  createTenant,
  moveClockDays,
  resetClock,
  startKillBill,
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
  type Metric,
} from './real-killbill-stack.js';
import { expectReconciled, reconciledFigures, wantOf } from './reconcile-cli.js';

const DAY = 86_400_000;
const CREDITS = { method: 'POST', path: '/1.0/kb/credits' };

interface Item {
  itemType: string;
  usageName: string | null;
  subscriptionId: string | null;
  description: string | null;
  amount: number;
}

/** CloudKitty's period total for what the customer meters, half-up to the cent (0 when not metered). */
function cloudKittyCents(c: Customer, metric: Metric): number {
  if (!c.metrics.includes(metric)) return 0;
  const exact = exactTotal(c.usage.filter((u) => u.metric === metric));
  return exact.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
}

/** Re-rates `hours` points of one of the customer's series to `price` (CloudKitty overwrites the same point). */
function rerate(c: Customer, metric: Metric, hours: number, price: (old: Decimal) => Decimal): RatedUsage[] {
  const changed: RatedUsage[] = [];
  c.usage = c.usage.map((u) => {
    // A's instance runs two VMs an hour: only the first one's points are re-rated.
    const series = metric === 'instance' ? `${c.projectId}-instance-vm1` : `${c.projectId}-${metric}`;
    if (u.metric !== metric || changed.length >= hours || u.resourceId !== series) return u;
    const next = { ...u, price: price(new Decimal(u.price)).toFixed(4) };
    changed.push(next);
    return next;
  });
  return changed;
}

const cents = (amount: number) => new Decimal(String(amount)).times(100).toNumber();
const errorsOf = (rs: SubscriptionSyncResult[]) => rs.filter((r) => r.error);

/**
 * A downward re-rating of a period Kill Bill has already invoiced, against the REAL Kill Bill (0.22.26 here)
 * and a real CloudKitty: posted as negative usage it would fail Kill Bill's next invoice run and park the
 * account; the bridge gives it as an account credit instead, once, even when Kill Bill's answer to the credit
 * is lost. After the next invoice run, invoiced usage + our credits equal CloudKitty's total per unit.
 */
describe('real Kill Bill: a downward correction of an invoiced period is a credit (e2e)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  const cleanups: Array<() => Promise<void>> = [];
  let clockTenant: KillBillTenant | undefined;

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load, a first download minutes
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
    if (clockTenant) await resetClock(clockTenant, 30);
  });

  async function items(tenant: KillBillTenant, c: Customer): Promise<Item[]> {
    const invoices = await kbGet<Array<{ items: Item[] }>>(
      tenant,
      `/1.0/kb/accounts/${c.accountId}/invoices?withItems=true`,
    );
    return invoices.flatMap((i) => i.items);
  }

  /** Moves Kill Bill's clock by `days` and waits until it has invoiced every customer's usage `times` times. */
  async function invoiceRun(tenant: KillBillTenant, list: Customer[], days: number, runs: number) {
    await moveClockDays(tenant, days, 60);
    await waitForQueues(tenant, 60);
    for (const c of list) {
      await waitFor(
        `Kill Bill has run invoicing ${runs} time(s) for ${c.name}`,
        async () => {
          const invoices = await kbGet<Array<{ items: Item[] }>>(
            tenant,
            `/1.0/kb/accounts/${c.accountId}/invoices?withItems=true`,
          );
          return invoices.filter((i) => i.items.some((it) => it.itemType === 'USAGE')).length >= runs;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    }
  }

  /** Not parked, each credit once, and per unit invoiced usage + our credits = CloudKitty's total. */
  async function checkAccount(tenant: KillBillTenant, c: Customer): Promise<string[]> {
    const tags = await kbGet<Array<{ tagDefinitionName: string }>>(
      tenant,
      `/1.0/kb/accounts/${c.accountId}/tags`,
    );
    expect(
      tags.map((t) => t.tagDefinitionName),
      `${c.name} tags`,
    ).not.to.include('__PARKED__');
    const held = await items(tenant, c);
    const ours = held.filter((it) => it.itemType === 'CREDIT_ADJ' && parseCreditDescription(it.description));
    expect(new Set(ours.map((it) => it.description)).size, 'each credit once').to.equal(ours.length);
    const figures: string[] = [];
    for (const metric of ['instance', 'vcpus'] as const) {
      const usage = held
        .filter((it) => it.itemType === 'USAGE' && it.subscriptionId === c.subscriptionId)
        .filter((it) => it.usageName === `openstack-usage-billing-${metric}`)
        .reduce((s, it) => s + cents(it.amount), 0);
      const credit = ours
        .filter((it) => parseCreditDescription(it.description)?.unitType === UNITS[metric])
        .reduce((s, it) => s + cents(it.amount), 0);
      figures.push(
        `${c.name.slice(4, 5)}/${metric}: usage ${usage}¢ + credit ${credit}¢ vs CloudKitty ${cloudKittyCents(c, metric)}¢`,
      );
      expect(usage + credit, `${c.name} ${metric}: invoiced + credited, in cents`).to.equal(
        cloudKittyCents(c, metric),
      );
    }
    return figures;
  }

  it('gives a credit, finds it by its description, and a credit Kill Bill refuses (4xx) is not retried', async function () {
    this.timeout(60_000);
    const tenant = await createTenant();
    const kb = new SeedingKillBillClient({ ...tenant, createdBy: 'e2e-test' });
    const accountId = await kb.createAccount({ name: 'credit-probe', currency: 'USD', timeZone: 'UTC' });
    const credits = accountCredits(kb);
    const key = formatCreditDescription(`osb1:${accountId}:20250603T0000Z:1h:r1`, UNITS.instance);
    expect(await credits.find(accountId, key)).to.equal(null);
    const given = await credits.give(accountId, 1234, key);
    expect(given).to.include({ cents: 1234, description: key });
    const found = await credits.find(accountId, key);
    expect(found).to.deep.include({ invoiceItemId: given.invoiceItemId, cents: 1234 });
    const account = await kbGet<{ accountBalance: number }>(
      tenant,
      `/1.0/kb/accounts/${accountId}?accountWithBalance=true`,
    );
    expect(cents(account.accountBalance), 'the money is the account’s').to.equal(-1234);

    // Kill Bill answers an unknown account 404: the same request would fail the same way, so no retry.
    const refused = await credits
      .give('00000000-0000-4000-8000-000000000001', 5, key)
      .catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(KillBillError).with.property('status', 404);
    const result = {
      subscriptionId: 's',
      records: 0,
      corrections: 0,
      alreadyRecorded: 0,
      lateDifferences: 0,
    };
    expect(isRetryable(new SubscriptionSyncError(tenant.apiKey, result, refused))).to.equal(false);
  });

  it('credits a re-rating down once (through a lost answer), bills a re-rating up, and never parks the account', async function () {
    this.timeout(6 * 60_000);
    const t0 = Date.now();
    const month = new Date('2025-06-01T00:00:00Z');
    const next = new Date('2025-07-01T00:00:00Z');
    let proxy: FaultProxy | undefined;
    const env = await setUpTenant(server, cloudkitty.url, month, cleanups, async (url) => {
      const p = (proxy = await FaultProxy.start(url));
      cleanups.push(() => p.close());
      return p.url;
    });
    clockTenant = env.tenant;
    const [a, b] = env.list as [Customer, Customer];
    await seedRatedUsage(cloudkitty.url, seedScenario(month, env.list, 23, [49, 50, 51]));
    const first = await env.stack.sync(month, next);
    expect(errorsOf(first), 'first sync').to.deep.equal([]);
    await invoiceRun(env.tenant, env.list, Math.round((+next - +month) / DAY), 1);
    const invoicedBefore = { instance: cloudKittyCents(a, 'instance'), vcpus: cloudKittyCents(a, 'vcpus') };

    // CloudKitty re-rates June after Kill Bill invoiced it: A's instance down, A's vcpus up.
    const down = rerate(a, 'instance', 6, () => new Decimal('0.0001'));
    const up = rerate(a, 'vcpus', 3, (p) => p.plus('0.05'));
    await seedRatedUsage(cloudkitty.url, [...down, ...up]);
    const wantDown = invoicedBefore.instance - cloudKittyCents(a, 'instance');
    expect(wantDown, 'the re-rating takes cents back').to.be.above(0);
    expect(cloudKittyCents(a, 'vcpus'), 'the other re-rating adds cents').to.be.above(invoicedBefore.vcpus);

    // Kill Bill makes the credit but the bridge never sees the answer; a later run must not credit twice.
    proxy!.failNext(1, { kind: 'drop-after' }, CREDITS);
    const recheck = () =>
      env.stack.runtime.usageSync.runOnce({
        mode: 'recheck',
        from: month,
        to: next,
        now: new Date(+next + DAY),
      });
    const runs: SubscriptionSyncResult[][] = [];
    do runs.push(await recheck());
    while (errorsOf(runs.at(-1)!).length > 0 && runs.length < 5);
    expect(errorsOf(runs.at(-1)!), `recheck still failing after ${runs.length} runs`).to.deep.equal([]);
    const all = runs.flat();
    const total = (k: 'credits' | 'alreadyCredited' | 'creditedCents') =>
      all.reduce((s, r) => s + (r[k] ?? 0), 0);
    const why = runs
      .map((r, i) => `run ${i + 1}: ${JSON.stringify(errorsOf(r).map((e) => e.error))}`)
      .join('; ');
    const odd = proxy!.requests
      .filter((r) => typeof r.outcome !== 'number' || r.outcome >= 300)
      .map((r) => `${r.method} ${r.path.split('?')[0]} ${r.outcome}`);
    expect(
      runs.length,
      `the run whose credit answer was lost failed, the next one finished (${why}; the proxy's non-2xx outcomes: ${odd.join(', ')})`,
    ).to.equal(2);
    expect([total('credits'), total('alreadyCredited'), total('creditedCents')]).to.deep.equal([
      0,
      1,
      wantDown,
    ]);
    expect(proxy!.seen(CREDITS).map((r) => r.outcome)).to.deep.equal(['drop-after']);
    const posted = proxy!.seen({ method: 'POST', path: '/1.0/kb/usages' }).map((r) => r.body);
    expect(posted.join('\n'), 'no negative usage reached the invoiced period').not.to.match(/"amount":-/);

    // A third run changes nothing: the ledger counts the credit in the window's cents.
    const quiet = await recheck();
    expect(quiet.map((r) => [r.records, r.corrections, r.credits])).to.deep.equal([
      [0, 0, 0],
      [0, 0, 0],
    ]);

    // The ledger remembers the credit (for reconcile) through the quiet run that rewrote the windows.
    const ledger = await env.stack.runtime.ledger.windows(env.tenant.apiKey, a.subscriptionId);
    const remembered = [...ledger.values()].flatMap((w) => w.credits ?? []);
    expect(remembered.map((c) => [c.unitType, c.cents])).to.deep.equal([[UNITS.instance, wantDown]]);
    expect([...ledger.values()].filter((w) => w.pending)).to.deep.equal([]);

    // B had nothing to correct and no July usage: only A is sure to get a second invoice.
    await invoiceRun(env.tenant, [a], 31, 2);
    const figures: string[] = [];
    for (const c of [a, b]) figures.push(...(await checkAccount(env.tenant, c)));
    expect(creditCents(await items(env.tenant, a))).to.deep.equal([-wantDown]);
    // The operator's proof: the credited line comes to 0.00 with the credit counted, as do the others.
    const proved = await expectReconciled(env.stack, '2025-06', wantOf(env.list, month, cloudKittyCents));
    const credited = proved.lines.find(
      (l) => l.subscriptionId === a.subscriptionId && l.unit === UNITS.instance,
    );
    expect(credited, 'the credited line').to.include({ creditedCents: wantDown, differenceCents: 0 });
    console.log(
      `      [KB ${server.version}] re-rated down ${wantDown}¢ and up after invoicing: ${runs.length} recheck runs, ` +
        `${proxy!.seen(CREDITS).length} credit POST (answer dropped), found again by its description | ` +
        `${figures.join(' | ')} | ${reconciledFigures(proved)} | ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  });
});

function creditCents(items: Item[]): number[] {
  return items.filter((it) => parseCreditDescription(it.description)).map((it) => cents(it.amount));
}
