import type { Job, Queue } from 'bullmq';
import { createLogger, silentLogger } from '../../src/logging/logger.js';
import { USAGE_JOB_OPTIONS, type UsageJobData } from '../../src/jobs/usage-jobs.js';
import { createBridgeRuntime } from '../../src/app/bridge-runtime.js';
import { createUsageWorker } from '../../workers/usage-worker.js';
import { testConfig } from '../support/bridge-config.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { seedRatedUsage, seededCloudKittyEnv, startCloudKitty } from '../support/cloudkitty.js';
import {
  dayOf,
  HOUR,
  hourlyUsage,
  killBillForBridge,
  MeteredTenant,
  newProjectId,
  type MeteredAccount,
} from '../support/metered-tenant.js';
import { waitFor } from '../support/wait.js';

export interface UsageFlowOptions {
  redisUrl: string;
  prefix: string;
  subscriptions: number;
  /** Hours of rated usage per project; each is one usage record per subscription. */
  hours: number;
  /** Started (not awaited) when Kill Bill receives its `disruptAt`-th usage record: mid-flow. */
  disrupt?: () => Promise<unknown>;
  disruptAt?: number;
}

export interface UsageFlowOutcome {
  accounts: MeteredAccount[];
  expectedCents: number[];
  recordedCents: number[];
  /** Completed subscription jobs, per subscription id. */
  completedJobs: Map<string, number>;
  failedJobs: number;
  /** Each failed job as "id: why", so a failure says what went wrong. */
  failedReasons: string[];
  /** Usage records Kill Bill took, and those it answered "already recorded" (resent by a retry). */
  usagePosts: { taken: number; alreadyRecorded: number };
  /** Subscription jobs that finished after the disruption started: the flow ran on through it. */
  finishedAfterDisruption: number;
  /** Times the bridge's Redis connection became ready: more than once means it had to reconnect. */
  readyEvents: number;
  /** The disruption's result, once it completed. */
  disruption: unknown;
}

interface Prepared {
  tenant: MeteredTenant;
  cloudkittyUrl: string;
  accounts: MeteredAccount[];
  cents: number[];
  startDay: string;
}

/** A fresh tenant with one metered account per new project, its rated usage seeded in CloudKitty. */
async function prepare(options: UsageFlowOptions): Promise<Prepared> {
  const [tenant, cloudkitty] = await Promise.all([MeteredTenant.create(), startCloudKitty()]);
  const projects = Array.from({ length: options.subscriptions }, newProjectId);
  // Hours closed by the settle delay (2 h), in one billing period that starts a day before them.
  const start = Math.floor(Date.now() / HOUR) * HOUR - (options.hours + 3) * HOUR;
  const { usage, cents } = hourlyUsage(projects, start, options.hours);
  await seedRatedUsage(cloudkitty.url, usage);
  const startDay = dayOf(start - 24 * HOUR);
  const accounts: MeteredAccount[] = [];
  for (const [i, p] of projects.entries())
    accounts.push(await tenant.meteredAccount(`flow${i}`, p, startDay));
  return { tenant, cloudkittyUrl: cloudkitty.url, accounts, cents, startDay };
}

interface Disruption {
  startedAt: number;
  done: boolean;
  result?: Promise<unknown>;
}

/** Starts the disruption as Kill Bill receives the `disruptAt`-th usage record, so it lands mid-flow. */
function disruptMidFlow(proxy: FaultProxy, options: UsageFlowOptions): Disruption {
  const state: Disruption = { startedAt: Infinity, done: !options.disrupt };
  let posts = 0;
  proxy.beforeForward = async (req) => {
    if (req.method !== 'POST' || !req.path.startsWith('/1.0/kb/usages')) return;
    if (++posts === (options.disruptAt ?? 1) && options.disrupt) {
      state.startedAt = Date.now();
      state.result = options.disrupt().finally(() => (state.done = true));
    }
  };
  return state;
}

type SubscriptionJob = Job<Extract<UsageJobData, { kind: 'subscription' }>>;

async function completedSubscriptionJobs(queue: Queue<UsageJobData>): Promise<SubscriptionJob[]> {
  const jobs = await queue.getJobs(['completed']);
  return jobs.filter((j): j is SubscriptionJob => j.data.kind === 'subscription');
}

/** What the queue and Kill Bill saw: jobs completed per subscription, failures, usage records sent. */
async function jobsAndPosts(queue: Queue<UsageJobData>, proxy: FaultProxy, disruptedAt: number) {
  const completed = await completedSubscriptionJobs(queue);
  const completedJobs = new Map<string, number>();
  for (const j of completed) {
    completedJobs.set(j.data.subscriptionId, (completedJobs.get(j.data.subscriptionId) ?? 0) + 1);
  }
  const posts = proxy.seen({ method: 'POST', path: '/1.0/kb/usages' });
  const failed = await queue.getJobs(['failed']);
  return {
    completedJobs,
    failedJobs: failed.length,
    failedReasons: failed.map((j) => `${j.id}: ${j.failedReason}`),
    usagePosts: {
      taken: posts.filter((p) => p.outcome === 201).length,
      alreadyRecorded: posts.filter((p) => p.outcome === 400).length,
    },
    finishedAfterDisruption: completed.filter((j) => (j.finishedOn ?? 0) > disruptedAt).length,
  };
}

/**
 * The usage sync as it runs in production, on the Redis topology under test: a real Kill Bill tenant
 * (through a proxy adding latency, so the flow lasts long enough to be disrupted), the real CloudKitty,
 * the registry rebuilt from Kill Bill, then a tick and one BullMQ job per subscription.
 */
export async function runUsageFlow(options: UsageFlowOptions): Promise<UsageFlowOutcome> {
  const { tenant, cloudkittyUrl, accounts, cents, startDay } = await prepare(options);
  const proxy = await killBillForBridge();
  proxy.latencyMs = 60;
  const disruption = disruptMidFlow(proxy, options);
  const config = testConfig({
    ...tenant.env(),
    KILLBILL_URL: proxy.url,
    REDIS_URL: options.redisUrl,
    BRIDGE_REDIS_PREFIX: options.prefix,
    ...seededCloudKittyEnv(cloudkittyUrl),
  });
  // FLOW_LOG=debug shows what the bridge did, when a run needs explaining.
  const logger = process.env.FLOW_LOG ? createLogger({ level: process.env.FLOW_LOG }) : silentLogger;
  const runtime = createBridgeRuntime(config, logger);
  let readyEvents = 0;
  runtime.redis.on('ready', () => readyEvents++);
  const { worker, queue } = createUsageWorker({
    connection: runtime.redis,
    prefix: options.prefix,
    usageSync: runtime.usageSync,
    registry: runtime.registry,
    logger,
    concurrency: 2,
  });
  const recorded = () => Promise.all(accounts.map((a) => tenant.recordedCents(a.subscriptionId, startDay)));
  try {
    await runtime.registrar.reconcileTenant(tenant.apiKey);
    await queue.add('tick', { kind: 'tick', mode: 'new' }, USAGE_JOB_OPTIONS);
    await waitFor(
      'every subscription is recorded in Kill Bill and its job completed',
      async () => {
        if (!disruption.done) return false;
        const done = new Set((await completedSubscriptionJobs(queue)).map((j) => j.data.subscriptionId));
        if (!accounts.every((a) => done.has(a.subscriptionId))) return false;
        return (await recorded()).every((c, i) => c === cents[i]);
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    return {
      ...(await jobsAndPosts(queue, proxy, disruption.startedAt)),
      accounts,
      expectedCents: cents,
      recordedCents: await recorded(),
      readyEvents,
      disruption: await disruption.result,
    };
  } finally {
    await worker.close();
    await queue.close();
    await runtime.close();
    await proxy.close();
  }
}
