import { Queue, type JobType } from 'bullmq';
import { expect } from 'chai';
import { Decimal } from 'decimal.js';
import { silentLogger } from '../../src/logging/logger.js';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { USAGE_QUEUE } from '../../src/jobs/queue-names.js';
import type { UsageJobData } from '../../src/jobs/usage-jobs.js';
import type { ReconcileLine, UnattributedLine } from '../../src/reconcile/reconcile-compare.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { createBridgeRuntime, type BridgeRuntime } from '../../src/app/bridge-runtime.js';
import { WorkerService } from '../../src/app/worker-service.js';
import { runBridge } from '../support/bridge-cli.js';
import { testConfig } from '../support/bridge-config.js';
import { seedRatedUsageAsAdmin, startCloudKitty, type KeystoneAccess } from '../support/cloudkitty.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { HeatCloud, type Cluster } from '../support/heat-cloud.js';
import { dayOf, HOUR, killBillForBridge, MeteredTenant, PLAN } from '../support/metered-tenant.js';
import { RedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/wait.js';

const HOURS = 6;
/** A region whose orchestration endpoint is a proxy in front of the real Heat, so the test can take Heat away. */
const REGION = 'HeatBehindProxy';

/**
 * Concertim's model with stacks found through Heat itself (cloudkitty.stackAttribution heat), against the real
 * Kill Bill, CloudKitty, Keystone, Heat 19 and Redis: CloudKitty's rows carry only the resource id, Heat lists
 * each cluster's servers. Heat's servers are its OS::Heat::None placeholders standing in for OS::Nova::Server
 * (no Nova here): Heat lists them as OS::Nova::Server with the physical ids it made, which the rows carry.
 */
describe('clusters attributed through a real Heat 19, its servers OS::Heat::None placeholders as there is no Nova (real Kill Bill, CloudKitty, Keystone, Redis)', function () {
  this.timeout(8 * 60_000);
  let tenant: MeteredTenant;
  let kbProxy: FaultProxy;
  let heatProxy: FaultProxy;
  let redis: RedisServer;
  let runtime: BridgeRuntime;
  let metrics: BridgeMetrics;
  let cloud: HeatCloud;
  let keystone: KeystoneAccess;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(10 * 60_000);
    const [t, p, ck, r] = await Promise.all([
      MeteredTenant.create(),
      killBillForBridge(),
      startCloudKitty({ auth: 'keystone', heat: true }),
      RedisServer.start(),
    ]);
    [tenant, kbProxy, redis, keystone] = [t, p, r, ck.keystone!];
    cloud = await HeatCloud.login(keystone, ck.heatUrl!);
    heatProxy = await FaultProxy.start(ck.heatUrl!);
    await cloud.addRegion(REGION, { rating: ck.url, orchestration: `${heatProxy.url}/v1/%(project_id)s` });
    env = {
      ...tenant.env(),
      KILLBILL_URL: kbProxy.url,
      REDIS_URL: redis.url,
      CLOUDKITTY_URL: '',
      CLOUDKITTY_SCOPE_STATE: 'optional',
      CLOUDKITTY_STACK_ATTRIBUTION: 'heat',
      OS_AUTH_URL: keystone.authUrl,
      OS_USERNAME: keystone.username,
      OS_PASSWORD: keystone.password,
      OS_PROJECT_NAME: keystone.projectName,
      OS_USER_DOMAIN_NAME: keystone.userDomainName,
      OS_PROJECT_DOMAIN_NAME: keystone.projectDomainName,
      OS_REGION_NAME: REGION,
    };
    const config = testConfig(env);
    metrics = BridgeMetrics.forConfig(config);
    runtime = createBridgeRuntime(config, silentLogger, { metrics });
  });
  after(async () => {
    await runtime?.close();
    await metrics?.close();
    await heatProxy?.close();
    await kbProxy?.close();
    await redis?.close();
  });

  it('bills each cluster its stack’s servers, the rest to the project, reports the remainder; Heat down records nothing', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - (HOURS + 3) * HOUR;
    const startDay = dayOf(start - 24 * HOUR);
    const [shared, clustered] = await Promise.all([
      cloud.createProject(`shared-${start}`),
      cloud.createProject(`clustered-${start}`),
    ]);
    // Project `shared`: cluster a (a node and a nested group of two), cluster b, loose servers, and the project's
    // own subscription. Project `clustered`: cluster x billed, cluster y without a subscription, a loose server.
    const [a, b, x, y] = await Promise.all([
      cloud.createCluster(shared, 'cluster-a', 1, 2),
      cloud.createCluster(shared, 'cluster-b', 1),
      cloud.createCluster(clustered, 'cluster-x', 1, 1),
      cloud.createCluster(clustered, 'cluster-y', 1),
    ]);
    const own = await tenant.meteredAccount('shared', shared, startDay);
    const subA = await clusterSubscription(own.accountId, startDay, a, true);
    const subB = await clusterSubscription(own.accountId, startDay, b, false);
    const other = await tenant.meteredAccount('clustered', clustered, startDay);
    await tenant.kb.addSubscriptionCustomFields(other.subscriptionId, stackFields(x, true));

    const seeded = seed(start, [
      ['shared/a', shared, a.servers],
      ['shared/b', shared, b.servers],
      ['shared/loose', shared, ['loose-vm-1', 'loose-vm-2']],
      ['clustered/x', clustered, x.servers],
      ['clustered/y', clustered, y.servers],
      ['clustered/loose', clustered, ['loose-vm-3']],
    ]);
    await seedRatedUsageAsAdmin(keystone, seeded.usage);
    await runtime.registrar.reconcileTenant(tenant.apiKey);
    const rest = await runtime.registry.entry(tenant.apiKey, own.subscriptionId);
    expect(rest).to.deep.include({
      status: 'metered',
      stackId: null,
      otherStacks: [a.stackId, b.stackId].sort(),
    });

    // Heat unreachable: nothing of either project is recorded, not even the rest, whose share depends on it.
    await heatProxy.down();
    const down = await runtime.usageSync.runOnceReport({ mode: 'new' });
    const ours = [subA, subB, own.subscriptionId, other.subscriptionId];
    const failed = down.results.filter((r) => ours.includes(r.subscriptionId));
    expect(failed.map((r) => [r.records, /orchestration|stacks/.test(r.error ?? '')])).to.deep.equal(
      ours.map(() => [0, true]),
    );
    for (const sub of ours) expect(await tenant.recordedCents(sub, startDay)).to.equal(0);
    expect(down.unattributed!.filter((u) => [shared, clustered].includes(u.projectId))).to.deep.equal([]);

    // Heat back: the next run records every window, each stack looked up once for all of them.
    await heatProxy.up();
    const asked = heatProxy.requests.length;
    const report = await runtime.usageSync.runOnceReport({ mode: 'new' });
    expect(report.results.filter((r) => r.error)).to.deep.equal([]);
    // Counted as Heat answered them: a 5xx or a cut connection is retried by the client (a loaded Heat
    // does that now and then), and only the attempt that succeeded is the lookup.
    const lookups = heatProxy.requests
      .slice(asked)
      .filter((r) => typeof r.outcome === 'number' && r.outcome < 500)
      .map((r) => r.path.replace(/\?.*/, ''));
    expect(lookups.sort()).to.deep.equal(
      [
        `/v1/${shared}/stacks/${a.stackName}/${a.stackId}/resources`,
        `/v1/${shared}/stacks/${b.stackId}`, // no openstack_stack_name: its address asked once
        `/v1/${shared}/stacks/${b.stackName}/${b.stackId}/resources`,
        `/v1/${clustered}/stacks/${x.stackName}/${x.stackId}/resources`,
      ].sort(),
    );
    const { cents } = seeded;
    expect(await tenant.recordedCents(subA, startDay)).to.equal(cents('shared/a'));
    expect(await tenant.recordedCents(subB, startDay)).to.equal(cents('shared/b'));
    expect(await tenant.recordedCents(own.subscriptionId, startDay)).to.equal(cents('shared/loose'));
    expect(await tenant.recordedCents(other.subscriptionId, startDay)).to.equal(cents('clustered/x'));
    const loose = report.unattributed!.filter((u) => [shared, clustered].includes(u.projectId));
    expect(loose.map((u) => [u.projectId, u.stacks, u.rated])).to.deep.equal([
      [clustered, [null], { instance: seeded.total('clustered/y', 'clustered/loose') }],
    ]);

    // `bridge reconcile`, its own process and Keystone session: every cluster line 0, the remainder reported.
    const run = await runBridge(['reconcile', '--period', startDay.slice(0, 7), '--json'], env, 180_000);
    expect(run.code, run.stderr).to.equal(0);
    const doc = JSON.parse(run.stdout) as { lines: ReconcileLine[]; unattributed: UnattributedLine[] };
    const line = (sub: string) => doc.lines.filter((l) => l.subscriptionId === sub);
    expect([subA, subB, own.subscriptionId, other.subscriptionId].flatMap(line).map(figures)).to.deep.equal([
      [a.stackId, cents('shared/a'), 0],
      [b.stackId, cents('shared/b'), 0],
      [null, cents('shared/loose'), 0],
      [x.stackId, cents('clustered/x'), 0],
    ]);
    expect(
      doc.unattributed.filter((u) => u.projectId === clustered).map((u) => [u.stacks, u.ratedCents]),
    ).to.deep.equal([[[null], { instance: cents('clustered/y', 'clustered/loose') }]]);

    // Cluster a torn down: Heat now lists none of its servers, yet a recheck moves none of its money.
    await cloud.deleteCluster(a);
    const recheck = await runtime.usageSync.runOnceReport({ mode: 'recheck' });
    const moved = recheck.results.filter((r) => ours.includes(r.subscriptionId) && (r.records || r.error));
    expect(moved).to.deep.equal([]);
    expect(await tenant.recordedCents(subA, startDay)).to.equal(cents('shared/a'));
    expect(await tenant.recordedCents(own.subscriptionId, startDay)).to.equal(cents('shared/loose'));
  });

  it('worker jobs of a project Heat fails for pull it again with backoff, and record once Heat answers', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - (HOURS + 3) * HOUR;
    const startDay = dayOf(start - 24 * HOUR);
    const project = await cloud.createProject(`worker-${start}`);
    const [c, d] = await Promise.all([
      cloud.createCluster(project, 'cluster-c', 2),
      cloud.createCluster(project, 'cluster-d', 0, 1),
    ]);
    const own = await tenant.meteredAccount('worker', project, startDay);
    const subC = await clusterSubscription(own.accountId, startDay, c, true);
    const seeded = seed(start, [
      ['c', project, c.servers],
      ['d', project, d.servers],
      ['loose', project, ['loose-vm-4']],
    ]);
    await seedRatedUsageAsAdmin(keystone, seeded.usage);
    await runtime.registrar.reconcileTenant(tenant.apiKey);

    await heatProxy.down();
    const workerRuntime = createBridgeRuntime(testConfig({ ...env, BRIDGE_SYNC_EVERY: '1h' }), silentLogger);
    const workers = new WorkerService(workerRuntime);
    const queue = new Queue<UsageJobData>(USAGE_QUEUE, {
      connection: { url: redis.url },
      prefix: workerRuntime.config.redis.prefix,
    });
    const subs = [subC, own.subscriptionId];
    const jobsOf = async (states: JobType[]) =>
      (await queue.getJobs(states)).filter(
        (j) => j.data.kind === 'subscription' && subs.includes(j.data.subscriptionId),
      );
    try {
      await workers.start();
      // The tick's jobs find the project not attributed and pull it again; Heat still away, they fail and wait.
      await waitFor(
        'both subscription jobs failed once and wait to retry',
        async () => {
          const retrying = await jobsOf(['delayed', 'waiting', 'active']);
          const failedOnce = retrying.filter((j) => j.attemptsMade >= 1);
          return subs.every((s) =>
            failedOnce.some((j) => j.data.kind === 'subscription' && j.data.subscriptionId === s),
          );
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
      for (const sub of subs) expect(await tenant.recordedCents(sub, startDay)).to.equal(0);

      await heatProxy.up();
      await waitFor(
        'both subscriptions recorded and their jobs completed',
        async () => {
          const done = new Set(
            (await jobsOf(['completed'])).map((j) => j.data.kind === 'subscription' && j.data.subscriptionId),
          );
          return subs.every((s) => done.has(s));
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      expect(await tenant.recordedCents(subC, startDay)).to.equal(seeded.cents('c'));
      // Cluster d has no subscription, and the project's takes the rest: d's servers and the loose one.
      expect(await tenant.recordedCents(own.subscriptionId, startDay)).to.equal(seeded.cents('d', 'loose'));
      expect(await jobsOf(['failed'])).to.deep.equal([]);
    } finally {
      await heatProxy.up();
      await queue.close();
      await workers.stop();
      await workerRuntime.close();
    }
  });

  it('a wrong stack name falls back to its id; a stack of another project or unknown to Heat records nothing of its project', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - (HOURS + 3) * HOUR;
    const startDay = dayOf(start - 24 * HOUR);
    const [named, borrowing, mistyped] = await Promise.all([
      cloud.createProject(`named-${start}`),
      cloud.createProject(`borrowing-${start}`),
      cloud.createProject(`mistyped-${start}`),
    ]);
    const [e, f] = await Promise.all([
      cloud.createCluster(named, 'cluster-e', 1),
      cloud.createCluster(borrowing, 'cluster-f', 1),
    ]);
    // openstack_stack_name is typed by people: a wrong one must not hide the stack its id names.
    const eAccount = await tenant.meteredAccount('named', named, startDay);
    const subE = await tenant.kb.createSubscription(eAccount.accountId, PLAN, startDay);
    await tenant.kb.addSubscriptionCustomFields(subE, [
      { name: FIELD.stackId, value: e.stackId },
      { name: FIELD.stackName, value: 'not-its-name' },
    ]);
    // A subscription of project `borrowing` naming cluster e, which is project `named`'s.
    const fAccount = await tenant.meteredAccount('borrowing', borrowing, startDay);
    const subBorrowed = await clusterSubscription(fAccount.accountId, startDay, e, false);
    // A stack id Heat has never had, in a project the bridge never saw it in: a typo, not a purged stack.
    const gAccount = await tenant.meteredAccount('mistyped', mistyped, startDay);
    const subUnknown = await tenant.kb.createSubscription(gAccount.accountId, PLAN, startDay);
    await tenant.kb.addSubscriptionCustomFields(subUnknown, [
      { name: FIELD.stackId, value: '00000000-0000-4000-8000-000000000000' },
    ]);
    const seeded = seed(start, [
      ['e', named, e.servers],
      ['f', borrowing, f.servers],
      ['g', mistyped, ['mistyped-vm-1']],
    ]);
    await seedRatedUsageAsAdmin(keystone, seeded.usage);
    await runtime.registrar.reconcileTenant(tenant.apiKey);

    const report = await runtime.usageSync.runOnceReport({ mode: 'new' });
    const result = (sub: string) => report.results.find((r) => r.subscriptionId === sub);
    expect(result(subE)?.error).to.equal(undefined);
    expect(await tenant.recordedCents(subE, startDay)).to.equal(seeded.cents('e'));
    // Heat's lookup failed for the whole project: none of its subscriptions records from this pull.
    for (const sub of [subBorrowed, fAccount.subscriptionId, subUnknown, gAccount.subscriptionId]) {
      expect(result(sub)?.error, sub).to.be.a('string');
      expect(await tenant.recordedCents(sub, startDay), sub).to.equal(0);
    }
    expect(result(subBorrowed)?.error).to.include(borrowing);
  });

  async function clusterSubscription(accountId: string, day: string, cluster: Cluster, named: boolean) {
    const sub = await tenant.kb.createSubscription(accountId, PLAN, day);
    await tenant.kb.addSubscriptionCustomFields(sub, stackFields(cluster, named));
    return sub;
  }
});

function stackFields(cluster: Cluster, named: boolean) {
  const id = { name: FIELD.stackId, value: cluster.stackId };
  return named ? [id, { name: FIELD.stackName, value: cluster.stackName }] : [id];
}

const figures = (l: ReconcileLine) => [l.stackId, l.cloudkittyCents, l.differenceCents];

/** `HOURS` hours of `instance` usage of every server, priced per group and server, with each group's totals. */
function seed(start: number, groups: Array<[string, string, string[]]>) {
  const usage: RatedUsage[] = [];
  const totals = new Map<string, Decimal>();
  groups.forEach(([group, projectId, servers], g) => {
    servers.forEach((resourceId, s) => {
      for (let h = 0; h < HOURS; h++) {
        const price = new Decimal(1 + g * 7 + s * 3 + h).div(1600);
        totals.set(group, (totals.get(group) ?? new Decimal(0)).plus(price));
        usage.push({
          begin: new Date(start + h * HOUR),
          projectId,
          metric: 'instance',
          price: price.toString(),
          resourceId,
        });
      }
    });
  });
  const total = (...keys: string[]) =>
    keys.reduce((sum, k) => sum.plus(totals.get(k)!), new Decimal(0)).toString();
  const cents = (...keys: string[]) =>
    new Decimal(total(...keys)).times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
  return { usage, total, cents };
}
