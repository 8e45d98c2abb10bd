import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { expect } from 'chai';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { runBridge } from '../support/bridge-cli.js';
import { startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import type { ProxiedRequest } from '../support/fault-proxy.js';
import { startKillBill, waitForQueues, type KillBillServer } from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import { FaultStack, syncDoc, type FaultCustomer, type Metric } from './fault-stack.js';

const NOTIFY = { method: 'POST', path: '/killbill/notifications' } as const;
/** What a reverse proxy answers while the API behind it is down; Kill Bill retries it like a refused connection. */
const DOWN = 502;
const COPIES = 3;
const SEED = 0x5eed16;
/** Where `bridge registry sync` builds the clean run's registry, beside the one under test. */
const REFERENCE_PREFIX = 'osb-reference';

/** One account of the scenario: its zone, its account-level metrics, and its subscriptions. */
interface AccountPlan {
  timeZone: string;
  metrics: Metric[];
  /** The account's metrics field deleted and made again with these: a change Kill Bill announces. */
  changeTo?: Metric[];
  subscriptions: Array<{ metrics?: Metric[]; ownProject?: boolean; cancel?: boolean }>;
}

// Zones east of UTC only: Kill Bill's clock is at 00:00Z on the 1st, where a western zone is still on the day
// before and a subscription from the 1st would be PENDING (not metered).
const PLANS: AccountPlan[] = [
  { timeZone: 'UTC', metrics: ['instance', 'vcpus'], changeTo: ['vcpus'], subscriptions: [{}] },
  // A subscription-level field replaces the account's (docs/registry.md §1).
  { timeZone: 'Asia/Tokyo', metrics: ['instance'], subscriptions: [{ metrics: ['instance', 'vcpus'] }] },
  // A second subscription on a project of its own, a third cancelled at once (the clock is at the 1st: it
  // is metered for an empty span, with nothing to record or prove).
  {
    timeZone: 'Asia/Kolkata',
    metrics: ['vcpus'],
    subscriptions: [{}, { ownProject: true, metrics: ['instance'] }, { cancel: true }],
  },
];

const projectId = () => randomUUID().replace(/-/g, '');

/** A seeded Fisher-Yates shuffle (mulberry32): the same storm on every run. */
function shuffled<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Makes one planned account straight in Kill Bill; returns the subscriptions that have usage to record. */
async function openAccount(stack: FaultStack, plan: AccountPlan, n: number): Promise<FaultCustomer[]> {
  const { kb } = stack;
  const name = `storm-${n}-${randomUUID().slice(0, 8)}`;
  const accountProject = projectId();
  const accountId = await kb.createAccount({
    name,
    currency: 'USD',
    timeZone: plan.timeZone,
    externalKey: name,
  });
  await kb.addAccountCustomFields(accountId, [
    { name: FIELD.enabled, value: 'true' },
    { name: FIELD.projectId, value: accountProject },
    { name: FIELD.metrics, value: plan.metrics.join(',') },
  ]);
  const metered: FaultCustomer[] = [];
  for (const [i, sub] of plan.subscriptions.entries()) {
    const subscriptionId = await kb.createSubscription(
      accountId,
      'openstack-standard-monthly',
      stack.month.toISOString().slice(0, 10),
    );
    const own = sub.ownProject ? projectId() : undefined;
    const fields = [
      ...(own ? [{ name: FIELD.projectId, value: own }] : []),
      ...(sub.metrics ? [{ name: FIELD.metrics, value: sub.metrics.join(',') }] : []),
    ];
    if (fields.length) await kb.addSubscriptionCustomFields(subscriptionId, fields);
    if (sub.cancel) await kb.cancelSubscription(subscriptionId);
    else {
      const metrics = sub.metrics ?? plan.changeTo ?? plan.metrics;
      const projectId = own ?? accountProject;
      metered.push({ name: `${name}/${i}`, projectId, metrics, accountId, subscriptionId, usage: [] });
    }
  }
  if (plan.changeTo) {
    // An edit in place is announced by nothing (docs/registry.md §6): delete the field and make it again.
    const field = (await kb.getAccountCustomFields(accountId))?.find((f) => f.name === FIELD.metrics);
    await kb.removeAccountCustomFields(accountId, [field!.customFieldId!]);
    await kb.addAccountCustomFields(accountId, [{ name: FIELD.metrics, value: plan.changeTo.join(',') }]);
  }
  return metered;
}

/** A tenant's registry under a prefix: every entry, and each account's record but its reading time. */
async function registryOf(stack: FaultStack, prefix: string) {
  const connection = stack.redis.client();
  try {
    const store = new RegistryStore(connection, prefix);
    const tenant = stack.tenant.apiKey;
    const accounts = [];
    for (const id of (await store.accountIds(tenant)).sort()) {
      const { readAt: _readAt, subscriptionIds, ...record } = (await store.account(tenant, id))!;
      // In Kill Bill's order as read; the order itself is no part of what the registry means.
      accounts.push({ ...record, subscriptionIds: [...subscriptionIds].sort() });
    }
    return { entries: await store.entries(tenant), accounts };
  } finally {
    connection.disconnect();
  }
}

/** The clean run: `bridge registry sync`, one orderly reading of Kill Bill, into a prefix of its own. */
async function referenceRegistry(stack: FaultStack) {
  const run = await runBridge(['registry', 'sync'], stack.env({ BRIDGE_REDIS_PREFIX: REFERENCE_PREFIX }));
  expect(run.code, `bridge registry sync: ${run.stderr.slice(-1500)}`).to.equal(0);
  return registryOf(stack, REFERENCE_PREFIX);
}

/** Until the registry queue has no job waiting, delayed or running (each job re-reads an account: slow). */
async function registryIdle(stack: FaultStack): Promise<void> {
  const queue = new Queue(REGISTRY_QUEUE, { connection: { url: stack.redis.url }, prefix: 'osb' });
  const states = ['waiting', 'active', 'delayed', 'prioritized', 'paused'] as const;
  try {
    await waitFor(
      'the registry queue is idle',
      async () => Object.values(await queue.getJobCounts(...states)).every((n) => n === 0),
      { timeoutMs: 180_000, intervalMs: 100 },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(await queue.getJobCounts(...states))}`);
    });
  } finally {
    await queue.close();
  }
}

/**
 * The intake down while the planned accounts are made and changed: the proxy Kill Bill pushes through
 * answers {@link DOWN} to every delivery. It comes back once every change is made, or as soon as one
 * notification has been refused 3 times: its 4th attempt, at least 4 s later, is Kill Bill's last.
 */
async function downWhileChanging(stack: FaultStack, pushes: () => ProxiedRequest[]) {
  const tap = stack.intakeProxy;
  tap.failAll({ kind: 'status', status: DOWN }, NOTIFY);
  const started = Date.now();
  let made = false;
  const making = Promise.all(PLANS.map((p, i) => openAccount(stack, p, i))).finally(() => (made = true));
  making.catch(() => {});
  const upWhen = await waitFor(
    'every change made in Kill Bill, or a notification refused 3 times',
    () => {
      const refused = pushes().filter((r) => r.outcome === DOWN);
      const times = (body: string) => refused.filter((r) => r.body === body).length;
      if (refused.some((r) => times(r.body) >= 3)) return 'a notification’s last retry was next';
      return made && refused.length > 0 ? 'every change made' : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 10 },
  );
  tap.heal();
  const downMs = Date.now() - started;
  const customers = (await making).flat();
  stack.customers.push(...customers);
  return { upWhen, downMs, customers };
}

/**
 * Until Kill Bill's own retries have delivered each notification refused while the intake was down, its
 * queues are drained, and the registry jobs all this queued have run. Returns the refused bodies.
 */
async function retriesLanded(stack: FaultStack, pushes: () => ProxiedRequest[]): Promise<string[]> {
  const refused = [...new Set(pushes().flatMap((r) => (r.outcome === DOWN ? [r.body] : [])))];
  await waitFor(
    `Kill Bill delivered again each of the ${refused.length} notification(s) refused while the intake was down`,
    () => refused.every((b) => pushes().some((r) => r.body === b && r.outcome === 200)),
    { timeoutMs: 120_000, intervalMs: 100 },
  );
  await waitForQueues(stack.tenant, 60);
  await waitFor('no delivery in flight', () => pushes().every((r) => r.outcome !== 'hang'));
  await registryIdle(stack);
  return refused;
}

/**
 * Sends each delivery again, `COPIES` times over in a seeded shuffled order, to the intake itself (as Kill
 * Bill sent it: path, token, headers), 4 at a time, then waits for the registry jobs. Counts the answers.
 */
async function storm(stack: FaultStack, delivered: ProxiedRequest[]) {
  const order = shuffled(Array.from({ length: COPIES }, () => delivered).flat(), SEED);
  const answers: Array<{ status: number; body: { status?: string; jobId?: string } }> = [];
  let next = 0;
  const lane = async () => {
    while (next < order.length) {
      const r = order[next++]!;
      const headers = Object.fromEntries(
        Object.entries(r.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
      ) as Record<string, string>;
      const res = await fetch(`http://127.0.0.1:${stack.api.port}${r.path}`, {
        method: 'POST',
        headers,
        body: r.body,
      });
      answers.push({ status: res.status, body: (await res.json()) as { status?: string; jobId?: string } });
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
  expect(
    answers.filter((a) => a.status !== 200),
    'storm answers other than 200',
  ).to.deep.equal([]);
  await registryIdle(stack);
  const queued = answers.filter((a) => a.body.status === 'queued');
  return {
    sent: answers.length,
    queued: queued.length,
    jobs: new Set(queued.map((a) => a.body.jobId)).size,
    ignored: answers.length - queued.length,
  };
}

/**
 * Issue 16, scenario 5, against the REAL Kill Bill, real Redis and BullMQ: accounts in three time zones are
 * made and changed while the bridge's intake is down; Kill Bill's own push retries (1 s, 2 s, 4 s here) bring
 * every refused notification back once it is up. Every delivery is then sent again, 3 times over, in a seeded
 * shuffled order. After both the registry equals a clean run's (`bridge registry sync` into another prefix),
 * no rebuild but the catalog upload's ran, no job failed, and one sync records everything exactly once.
 */
describe('faults: notification storm, intake down while Kill Bill delivers (real Kill Bill)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  let stack: FaultStack;
  const cleanups: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(10 * 60_000);
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
    stack = await FaultStack.start(server, cloudkitty, cleanups);
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  });

  it('Kill Bill’s retries, then every delivery 3× shuffled, leave the registry a clean run gives', async function () {
    this.timeout(8 * 60_000);
    const tap = stack.intakeProxy;
    const mark = tap.requests.length;
    // Kill Bill's pushes since the catalog upload's (whose rebuild the stack already let finish).
    const pushes = () =>
      tap.requests.slice(mark).filter((r) => r.method === 'POST' && r.path.startsWith(NOTIFY.path));
    const { upWhen, downMs, customers } = await downWhileChanging(stack, pushes);
    const refused = await retriesLanded(stack, pushes);
    await stack.waitMetered(customers);
    const reference = await referenceRegistry(stack);
    expect(await registryOf(stack, 'osb'), 'after Kill Bill’s retries').to.deep.equal(reference);

    const delivered = pushes().filter((r) => r.outcome === 200);
    const s = await storm(stack, delivered);
    expect(await registryOf(stack, 'osb'), 'after the storm').to.deep.equal(reference);
    expect(
      await stack.runtime.registry.lastReconcile(stack.tenant.apiKey),
      'no registry rebuild ran but the catalog upload’s',
    ).to.deep.equal(stack.catalogRebuild);
    expect(await stack.failedJobs(), 'failed jobs').to.equal(0);

    // Six hours of day 14 per subscription: enough windows to prove every zone, few POSTs on a busy machine.
    await stack.seedDay(14, 16, stack.customers, 6);
    const run = await stack.sync();
    expect(run.code, run.stderr.slice(-1500)).to.equal(0);
    const doc = syncDoc(run);
    const posts = stack.postOutcomes();
    expect(doc.totals.records).to.equal(stack.expectedRecords);
    expect(posts.created).to.equal(stack.expectedRecords);
    expect(new Set(posts.trackingIds).size).to.equal(posts.trackingIds.length);
    const figures = await stack.assertReconciled();
    // Checked last, when even a retry of a twin (Kill Bill sends some bodies twice) has long been answered.
    const refusedAttempts = pushes().filter((r) => r.outcome === DOWN).length;
    expect(
      pushes().filter((r) => r.outcome !== 200 && r.outcome !== DOWN),
      'Kill Bill deliveries the intake did not take',
    ).to.deep.equal([]);
    console.log(
      `      [KB ${server.version}] intake down ${(downMs / 1000).toFixed(1)} s (up when ${upWhen}): ` +
        `${PLANS.length} accounts (${PLANS.map((p) => p.timeZone).join(', ')}), ${customers.length} metered ` +
        `subscriptions | Kill Bill: ${delivered.length} notifications delivered, ${refused.length} refused ` +
        `first (${refusedAttempts} attempts answered ${DOWN}), all brought back by its retries | storm: ` +
        `${s.sent} sent (seed ${SEED}), ${s.queued} queued as ${s.jobs} jobs, ${s.ignored} ignored (200); ` +
        `registry = clean run's (${reference.entries.length} subscriptions), no rebuild | sync: ` +
        `${doc.totals.records} records, ${posts.created}×201 | ${figures}`,
    );
  });
});
