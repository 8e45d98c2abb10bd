import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { silentLogger } from '../../src/logging/logger.js';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { createBridgeRuntime, type BridgeRuntime } from '../../src/app/bridge-runtime.js';
import { testConfig } from '../support/bridge-config.js';
import { seedRatedUsage, seededCloudKittyEnv, startCloudKitty } from '../support/cloudkitty.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import {
  dayOf,
  HOUR,
  killBillForBridge,
  MeteredTenant,
  newProjectId,
  PLAN,
} from '../support/metered-tenant.js';
import { runBridge } from '../support/bridge-cli.js';
import { RedisServer } from '../support/redis-server.js';
import type { ReconcileLine, UnattributedLine } from '../../src/reconcile/reconcile-compare.js';

const HOURS = 6;

/**
 * One Kill Bill account per project, one subscription per cluster (Concertim's model), against the real Kill
 * Bill, CloudKitty and Redis: CloudKitty's rows carry the Heat stack id as a groupby attribute. Each cluster's
 * subscription is billed its stack's usage; the project's subscription without a stack id takes the rest;
 * a stack no subscription names, on a project without such a subscription, is billed to no one and reported.
 */
describe('clusters: a project shared by stack (real Kill Bill, CloudKitty, Redis)', function () {
  this.timeout(5 * 60_000);
  let tenant: MeteredTenant;
  let proxy: FaultProxy;
  let redis: RedisServer;
  let runtime: BridgeRuntime;
  let metrics: BridgeMetrics;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(10 * 60_000);
    const [t, p, ck, r] = await Promise.all([
      MeteredTenant.create(),
      killBillForBridge(),
      startCloudKitty(),
      RedisServer.start(),
    ]);
    [tenant, proxy, redis] = [t, p, r];
    env = {
      ...tenant.env(),
      KILLBILL_URL: proxy.url,
      REDIS_URL: redis.url,
      ...seededCloudKittyEnv(ck.url),
    };
    const config = testConfig(env);
    metrics = BridgeMetrics.forConfig(config);
    runtime = createBridgeRuntime(config, silentLogger, { metrics });
  });
  after(async () => {
    await runtime?.close();
    await metrics?.close();
    await proxy?.close();
    await redis?.close();
  });

  it('bills each cluster its stack, the rest to the project’s subscription, and reports what no one owns', async () => {
    const ck = await startCloudKitty();
    const start = Math.floor(Date.now() / HOUR) * HOUR - (HOURS + 3) * HOUR;
    const startDay = dayOf(start - 24 * HOUR);
    const [shared, clustered] = [newProjectId(), newProjectId()];
    // Project `shared`: a cluster (stack-a) and the project's own subscription for everything else.
    const own = await tenant.meteredAccount('shared', shared, startDay);
    const clusterA = await tenant.kb.createSubscription(own.accountId, PLAN, startDay);
    await tenant.kb.addSubscriptionCustomFields(clusterA, [{ name: FIELD.stackId, value: 'stack-a' }]);
    // Project `clustered`: one cluster only (stack-x); its stack-y has no subscription.
    const other = await tenant.meteredAccount('clustered', clustered, startDay);
    await tenant.kb.addSubscriptionCustomFields(other.subscriptionId, [
      { name: FIELD.stackId, value: 'stack-x' },
    ]);

    const usage: RatedUsage[] = [];
    const totals = new Map<string, Decimal>();
    const rate = (project: string, stack: string | null, h: number, price: string) => {
      const key = `${project}/${stack}`;
      totals.set(key, (totals.get(key) ?? new Decimal(0)).plus(price));
      usage.push({
        begin: new Date(start + h * HOUR),
        projectId: project,
        metric: 'instance',
        price,
        resourceId: `${project}-${stack ?? 'none'}-vm`,
        tags: stack ? { stack_id: stack } : {},
      });
    };
    for (let h = 0; h < HOURS; h++) {
      rate(shared, 'stack-a', h, (0.0125 + h / 1000).toFixed(4));
      rate(shared, 'stack-b', h, '0.0031');
      rate(shared, null, h, '0.0207');
      rate(clustered, 'stack-x', h, '0.0445');
      rate(clustered, 'stack-y', h, '0.0999');
    }
    await seedRatedUsage(ck.url, usage);
    await runtime.registrar.reconcileTenant(tenant.apiKey);
    const rest = await runtime.registry.entry(tenant.apiKey, own.subscriptionId);
    expect(rest).to.deep.include({ status: 'metered', stackId: null, otherStacks: ['stack-a'] });

    const report = await runtime.usageSync.runOnceReport({ mode: 'new' });
    const results = report.results;
    expect(report.unattributed).to.have.length(1);
    expect(report.unattributed![0]).to.deep.include({ projectId: clustered, stacks: ['stack-y'] });
    expect(report.unattributed![0]!.rated).to.deep.equal({
      instance: totals.get(`${clustered}/stack-y`)!.toString(),
    });
    expect(results.filter((r) => r.error)).to.deep.equal([]);
    const cents = (...keys: string[]) =>
      keys
        .reduce((sum, k) => sum.plus(totals.get(k)!), new Decimal(0))
        .times(100)
        .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
        .toNumber();
    expect(await tenant.recordedCents(clusterA, startDay)).to.equal(cents(`${shared}/stack-a`));
    expect(await tenant.recordedCents(own.subscriptionId, startDay)).to.equal(
      cents(`${shared}/stack-b`, `${shared}/null`),
    );
    expect(await tenant.recordedCents(other.subscriptionId, startDay)).to.equal(
      cents(`${clustered}/stack-x`),
    );
    // stack-y is billed to no one: the metric says one project of the tenant has such usage.
    const gauge = await metrics.registry.getSingleMetricAsString('bridge_sync_unattributed_projects');
    expect(gauge).to.include(`bridge_sync_unattributed_projects{tenant="${tenant.apiKey}"} 1`);

    // `bridge reconcile` of the period (it starts on the subscriptions' first day, their bill-cycle day):
    // a line per cluster, named, and the remainder no one owns, so each project adds up to what CloudKitty rated.
    const run = await runBridge(['reconcile', '--period', startDay.slice(0, 7), '--json'], env, 120_000);
    expect(run.code, run.stderr).to.equal(0);
    const doc = JSON.parse(run.stdout) as { lines: ReconcileLine[]; unattributed: UnattributedLine[] };
    const lineOf = (sub: string) => doc.lines.filter((l) => l.subscriptionId === sub);
    expect(lineOf(clusterA).map((l) => [l.stackId, l.cloudkittyCents, l.differenceCents])).to.deep.equal([
      ['stack-a', cents(`${shared}/stack-a`), 0],
    ]);
    expect(lineOf(own.subscriptionId).map((l) => [l.stackId, l.cloudkittyCents])).to.deep.equal([
      [null, cents(`${shared}/stack-b`, `${shared}/null`)],
    ]);
    expect(lineOf(other.subscriptionId).map((l) => [l.stackId, l.cloudkittyCents])).to.deep.equal([
      ['stack-x', cents(`${clustered}/stack-x`)],
    ]);
    const loose = doc.unattributed.filter((u) => u.projectId === clustered || u.projectId === shared);
    expect(loose.map((u) => [u.projectId, u.accountIds, u.stacks, u.rated, u.ratedCents])).to.deep.equal([
      [
        clustered,
        [other.accountId],
        ['stack-y'],
        { instance: totals.get(`${clustered}/stack-y`)!.toString() },
        { instance: cents(`${clustered}/stack-y`) },
      ],
    ]);
  });
});
