import { Queue, type Job } from 'bullmq';
import { expect } from 'chai';
import { USAGE_QUEUE } from '../../src/jobs/queue-names.js';
import type { UsageJobData } from '../../src/jobs/usage-jobs.js';
import type { SubscriptionSyncResult } from '../../src/sync/subscription-sync.js';
import { RunningBridge } from '../support/bridge-cli.js';
import { startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { startKillBill, type KillBillServer } from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import { FaultStack, USAGE_POSTS } from './fault-stack.js';

/** Accounts: all three metric sets, one subscription each, each its own usage job. */
const ACCOUNTS = 3;
/** Usage records Kill Bill takes before the proxy starts holding them: the killed jobs are part way. */
const PASSED = 10;
const isUsagePost = (r: { method: string; path: string }) =>
  r.method === 'POST' && r.path.startsWith(USAGE_POSTS.path);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * `bridge worker` as deployed: BullMQ's defaults (a job's lock lasts 30 s, the stalled check runs every 30 s;
 * the bridge has no setting for them) and the default `metering.lockTtl` (1 m). No shorter lock TTL is needed:
 * BullMQ hands the dead worker's jobs back 30 to 60 s after the kill, and a job back before the dead run's
 * subscription lock lapses waits for it (at most one TTL), so the test proves the recovery an operator gets.
 */
function startWorker(stack: FaultStack): RunningBridge {
  // No health port: other suites run workers on this machine at the same time.
  return RunningBridge.start(['worker'], stack.env({ BRIDGE_WORKER_HEALTH_PORT: '0' }));
}

/**
 * A real `bridge worker` SIGKILLed while its usage jobs have records in flight to the REAL Kill Bill, and a new
 * one started at once: BullMQ's stalled check hands the dead worker's jobs to the new one, each waits out the
 * dead run's subscription lock, resends what was pending with the same tracking id, and finishes the work.
 */
describe('faults: bridge worker SIGKILLed mid-job, restarted at once (real Kill Bill)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  const cleanups: Array<() => Promise<void>> = [];
  const running: RunningBridge[] = [];

  before(async function () {
    this.timeout(10 * 60_000);
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
  });

  after(async function () {
    this.timeout(120_000);
    for (const r of running) r.signal('SIGKILL');
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  });

  it("the killed worker's usage jobs come back to the new one and complete: each window once", async function () {
    // About 1.5 min on a quiet machine, a minute of it BullMQ's own recovery; up to 4 under the load of the
    // other suites sharing its two cores, so the limit is wider than the other fault scenarios'.
    this.timeout(6 * 60_000);
    const began = Date.now();
    const stack = await FaultStack.start(server, cloudkitty, cleanups);
    await stack.waitMetered(await stack.addCustomers(ACCOUNTS));
    await stack.seedDay(14, 5);
    const queue = new Queue<UsageJobData>(USAGE_QUEUE, {
      connection: { url: stack.redis.url },
      prefix: 'osb',
    });
    cleanups.push(() => queue.close());

    const ready = Date.now();
    const { killed, held, killedAt } = await killMidJob(stack, queue, running);
    const second = startWorker(stack);
    running.push(second);
    const done = await untilRecovered(stack, queue, killed, second);
    const recoveredAt = Math.max(...done.map((j) => j.finishedOn!));
    const pickedUpAt = Math.min(...done.map((j) => j.processedOn!));

    for (const j of done) {
      expect(await j.getState(), `job ${j.id} (${j.name})`).to.equal('completed');
      expect(j.stalledCounter, `job ${j.id} came back through BullMQ's stalled check, once`).to.equal(1);
    }
    const results = done.map((j) => j.returnvalue as SubscriptionSyncResult);
    const sent = results.reduce((s, r) => s + r.records, 0);
    const already = results.reduce((s, r) => s + r.alreadyRecorded, 0);
    expect(already, "the dead worker's in-flight records, resent as they were").to.equal(held.length);
    expect(sent, 'the rest of the work').to.equal(stack.expectedRecords - PASSED - held.length);
    const left = await queue.getJobs(['active', 'wait', 'delayed', 'prioritized']);
    expect(
      left.filter((j) => j.name === 'subscription').map((j) => j.id),
      'no usage job left to do',
    ).to.deep.equal([]);
    expect(await second.stop(), 'the new worker stops cleanly').to.equal(0);
    const told = [...second.stderr.matchAll(/"event":"worker\.job_stalled"[^\n]*"jobId":"([^"]+)"/g)];
    expect(
      told.map((m) => m[1]).sort(),
      'the new worker logged each job it took over from the dead one',
    ).to.deep.equal([...killed].sort());

    const outcomes = stack.postOutcomes();
    expect(outcomes.created, 'records Kill Bill took').to.equal(stack.expectedRecords);
    expect(new Set(outcomes.trackingIds).size, 'each tracking id taken once').to.equal(outcomes.created);
    expect(outcomes.already, '"already recorded" answers').to.equal(held.length);
    expect(outcomes.faulted).to.equal(0);
    const figures = await stack.assertReconciled();
    console.log(
      `      [KB ${server.version}] ${ACCOUNTS} accounts, ${stack.expectedRecords} windows, ready in ${seconds(ready - began)}: ` +
        `worker SIGKILLed ${seconds(killedAt - ready)} after its start, after ${PASSED} ` +
        `records with ${held.length} in flight in ${killed.length} usage jobs; new worker started at once: ` +
        `${done.length} stalled job(s) recovered, picked up after ${seconds(pickedUpAt - killedAt)}, all done after ` +
        `${seconds(recoveredAt - killedAt)}: ${sent} sent + ${already} already recorded | Kill Bill took ` +
        `${outcomes.created}×201, ${outcomes.already}×"already recorded" | ${figures}`,
    );
  });
});

/** The dead worker's jobs, once the new worker completed them all and Kill Bill took every window's record. */
async function untilRecovered(
  stack: FaultStack,
  queue: Queue<UsageJobData>,
  killed: string[],
  worker: RunningBridge,
): Promise<Job[]> {
  return waitFor(
    "the new worker completed every job of the killed one, and Kill Bill took every window's record",
    async () => {
      const jobs = await Promise.all(killed.map((id) => queue.getJob(id)));
      const all = jobs.every((j) => j?.finishedOn !== undefined);
      return all && stack.postOutcomes().created === stack.expectedRecords ? (jobs as Job[]) : null;
    },
    // Up to two stalled checks (30 s apart) and a job lock (30 s) pass before BullMQ hands a job back.
    { timeoutMs: 150_000, intervalMs: 250 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nnew worker: ${worker.stderr.slice(-3000)}`);
  });
}

/**
 * Starts a worker, lets {@link PASSED} usage records through to Kill Bill, then holds the next one of every
 * subscription at the proxy; once each usage job has one in flight, SIGKILLs the worker. The held records
 * then reach Kill Bill (the process sent them before it died) before anything else runs. Returns the ids of
 * the jobs the dead worker held.
 */
async function killMidJob(
  stack: FaultStack,
  queue: Queue<UsageJobData>,
  running: RunningBridge[],
): Promise<{ killed: string[]; held: Array<{ outcome: unknown }>; killedAt: number }> {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let posts = 0;
  const held: Array<{ outcome: unknown }> = [];
  stack.kbProxy.beforeForward = async (req) => {
    if (!isUsagePost(req) || ++posts <= PASSED) return;
    held.push(req);
    await opened;
  };
  const first = startWorker(stack);
  running.push(first);
  const killed = await waitFor(
    `the worker has ${ACCOUNTS} usage jobs running, each with a record in flight`,
    async () => {
      if (held.length < ACCOUNTS) return null;
      // Its ticks finished: a tick killed too would queue the work again once the recovered jobs are done.
      const active = await queue.getActive();
      const jobs = active.filter((j) => j.name === 'subscription');
      return jobs.length === ACCOUNTS && active.length === ACCOUNTS ? jobs.map((j) => j.id!) : null;
    },
    { timeoutMs: 120_000, intervalMs: 100 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nworker: ${first.stderr.slice(-3000)}`);
  });
  const killedAt = Date.now();
  first.signal('SIGKILL');
  expect(await first.exited, 'killed, not exited').to.equal(null);
  expect(stack.postOutcomes().created, 'records Kill Bill took before the kill').to.equal(PASSED);
  const stillActive = (await queue.getActive()).map((j) => j.id);
  expect(stillActive, 'the dead worker’s jobs are still active in BullMQ').to.have.members(killed);
  const redis = stack.redis.client();
  const locks = await redis.keys('osb:lock:*').finally(() => redis.disconnect());
  expect(locks, 'the dead worker still holds its subscriptions’ locks').to.have.length(ACCOUNTS);
  open();
  stack.kbProxy.beforeForward = undefined;
  await waitFor('Kill Bill took the dead worker’s in-flight records', () =>
    held.every((r) => r.outcome === 201),
  );
  return { killed, held, killedAt };
}
