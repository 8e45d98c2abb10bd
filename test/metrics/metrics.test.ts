import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics.js';
import { REGISTRY_QUEUE, USAGE_QUEUE } from '../../src/jobs/queue-names.js';
import { createRedisConnection } from '../../src/jobs/redis-connection.js';
import { IDLE_REASONS, countIdle } from '../../src/sync/idle-reasons.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { seedRatedUsage, startCloudKitty } from '../support/cloudkitty.js';
import { createTenant, startKillBill } from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import { Exposition } from './exposition.js';
import {
  MeteredBridge,
  UNITS,
  directClient,
  expectedCents,
  hoursOfUsage,
  meteredAccount,
  uploadCatalog,
} from './metered-bridge.js';

const DAY = 24 * 3_600_000;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * /metrics after a real flow: real Redis, the real Kill Bill (fresh tenant, the project catalog, a metered
 * account learnt by a reconcile), real CloudKitty with hours of rated usage, the BullMQ workers syncing it,
 * and notifications to the intake. Every family is read from the exposition text and compared with what
 * the services themselves saw: Kill Bill's usage, the fault proxies' request logs, BullMQ's job counts.
 */
describe('metrics: /metrics counts what really happened (real Kill Bill, CloudKitty, Redis)', function () {
  this.timeout(180_000);
  let bridge: MeteredBridge;
  let usage: RatedUsage[];
  let main: { accountId: string; subscriptionId: string };
  let twins: Array<{ accountId: string; subscriptionId: string }>;
  let kb: ReturnType<typeof directClient>;
  let startDay: string;
  let flowStarted: number;
  const sent: Record<string, number> = {};

  before(async function () {
    this.timeout(10 * 60_000);
    const [server, cloudkitty, tenant] = await Promise.all([
      startKillBill(),
      startCloudKitty(),
      createTenant(),
    ]);
    kb = directClient(tenant);
    await uploadCatalog(kb);
    const today = Math.floor(Date.now() / DAY) * DAY;
    startDay = date(today - 2 * DAY);
    const project = randomBytes(16).toString('hex');
    usage = hoursOfUsage(project, today - 2 * DAY);
    await seedRatedUsage(cloudkitty.url, usage);
    main = await meteredAccount(kb, `metrics-${randomUUID()}`, project, startDay);
    // Two accounts metering one project: both held back as a conflict, which the sync must say.
    const shared = randomBytes(16).toString('hex');
    twins = [
      await meteredAccount(kb, `metrics-${randomUUID()}`, shared, startDay),
      await meteredAccount(kb, `metrics-${randomUUID()}`, shared, startDay),
    ];

    bridge = await MeteredBridge.start(server, tenant, cloudkitty.url);
    await bridge.runtime.registrar.reconcileTenant(bridge.tenant);
    flowStarted = Date.now();
    await bridge.startWorkers();
    await waitFor(
      'the workers have recorded the usage in Kill Bill and are idle',
      async () => (await recordedCents()) === JSON.stringify(expected()) && (await workersSettled()),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    await notify();
  });

  after(async function () {
    this.timeout(60_000);
    await bridge?.close();
  });

  const expected = () => ({
    [UNITS.instance]: expectedCents(usage, 'instance'),
    [UNITS.vcpus]: expectedCents(usage, 'vcpus'),
  });

  async function recordedCents(): Promise<string> {
    const rolled = await kb.getUsage(main.subscriptionId, startDay, date(Date.now() + DAY));
    const cents = Object.fromEntries((rolled.rolledUpUnits ?? []).map((u) => [u.unitType, u.amount]));
    return JSON.stringify({ [UNITS.instance]: cents[UNITS.instance], [UNITS.vcpus]: cents[UNITS.vcpus] });
  }

  /** No job waiting or running, and every tick's subscriptions done: the last success is in Redis. */
  async function workersSettled(): Promise<boolean> {
    for (const queue of [REGISTRY_QUEUE, USAGE_QUEUE]) {
      const c = await bridge.jobCounts(queue);
      if ((c.waiting ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0) > 0) return false;
    }
    const client = bridge.redis.client();
    const last = await client
      .get(`${bridge.config.redis.prefix}:sync:last-success:${bridge.tenant}`)
      .finally(() => client.disconnect());
    return last !== null;
  }

  /** Notifications of every outcome, one Kill Bill 500 on the way: `sent` says what each should count. */
  async function notify(): Promise<void> {
    const completedBefore = (await bridge.jobCounts(REGISTRY_QUEUE)).completed ?? 0;
    // The first account job's first Kill Bill call fails once; BullMQ retries the job.
    bridge.killbill.failNext(1, { kind: 'status', status: 500 }, { method: 'GET', path: '/1.0/kb/catalog' });
    const post = async (body: string, token = TEST_TOKEN) =>
      (
        await fetch(`${bridge.url}/killbill/notifications?token=${token}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
      ).status;
    const event = (eventType: string, accountId: string, objectType: string) =>
      JSON.stringify({ eventType, accountId, objectType, objectId: randomUUID(), metaData: null });
    const answers = [
      [await post(event('ACCOUNT_CHANGE', main.accountId, 'ACCOUNT')), 200, 'ACCOUNT_CHANGE/queued'],
      [
        await post(event('CUSTOM_FIELD_CREATION', twins[0]!.accountId, 'CUSTOM_FIELD')),
        200,
        'CUSTOM_FIELD_CREATION/queued',
      ],
      [await post(event('INVOICE_CREATION', main.accountId, 'INVOICE')), 200, 'INVOICE_CREATION/ignored'],
      [
        await post(event('ACCOUNT_CHANGE', main.accountId, 'ACCOUNT'), 'wrong-token'),
        401,
        'unknown/unauthorized',
      ],
      [await post('{"eventType": '), 400, 'invalid/rejected'],
      [await post('{"eventType": "ACCOUNT_CHANGE"}'), 400, 'invalid/rejected'],
    ] as const;
    for (const [status, want, key] of answers) {
      expect(status, key).to.equal(want);
      sent[key] = (sent[key] ?? 0) + 1;
    }
    await waitFor(
      'both account jobs completed, one of them after a retry',
      async () => (await bridge.jobCounts(REGISTRY_QUEUE)).completed === completedBefore + 2,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  it('counts notifications by event type and outcome, and times each enqueue', async () => {
    const m = await bridge.scrape();
    const counted = Object.fromEntries(
      m
        .samples('bridge_notifications_total')
        .map((s) => [`${s.labels.event_type}/${s.labels.outcome}`, s.value]),
    );
    expect(counted).to.deep.equal(sent);
    const queued = sent['ACCOUNT_CHANGE/queued']! + sent['CUSTOM_FIELD_CREATION/queued']!;
    expect(m.family('bridge_notification_enqueue_duration_seconds').type).to.equal('histogram');
    expect(m.value('bridge_notification_enqueue_duration_seconds_count', { outcome: 'queued' })).to.equal(
      queued,
    );
  });

  it('counts jobs per queue as BullMQ does, and reads the queue states from Redis', async () => {
    const m = await bridge.scrape();
    expect(m.value('bridge_redis_up')).to.equal(1);
    for (const queue of [REGISTRY_QUEUE, USAGE_QUEUE]) {
      const c = await bridge.jobCounts(queue);
      expect(m.value('bridge_jobs_completed_total', { queue }), queue).to.equal(c.completed).and.above(0);
      expect(m.value('bridge_jobs_failed_total', { queue }), queue).to.equal(c.failed).and.equal(0);
      expect(m.value('bridge_jobs_retried_total', { queue }), queue).to.equal(
        queue === REGISTRY_QUEUE ? 1 : 0,
      );
      const states = {
        waiting: c.waiting! + c.prioritized! + (c.paused ?? 0),
        active: c.active,
        delayed: c.delayed,
        failed: c.failed,
      };
      for (const [state, count] of Object.entries(states)) {
        expect(m.value('bridge_queue_jobs', { queue, state }), `${queue} ${state}`).to.equal(count);
      }
    }
  });

  it('times every Kill Bill and CloudKitty request, and counts the injected 500 by status', async () => {
    const m = await bridge.scrape();
    const kbSeen = bridge.killbill.requests;
    expect(m.sum('bridge_killbill_request_duration_seconds_count')).to.equal(kbSeen.length);
    const kbFailed = kbSeen.filter((r) => typeof r.outcome === 'number' && r.outcome >= 400).length;
    expect(m.sum('bridge_killbill_request_errors_total')).to.equal(kbFailed).and.equal(1);
    expect(
      m.value('bridge_killbill_request_errors_total', { operation: 'get_catalog', status: '500' }),
    ).to.equal(1);
    const posted = bridge.killbill.seen({ method: 'POST', path: '/1.0/kb/usages' }).length;
    expect(
      m.value('bridge_killbill_request_duration_seconds_count', {
        operation: 'record_usage',
        status_class: '2xx',
      }),
    )
      .to.equal(posted)
      .and.above(0);

    const ckSeen = bridge.cloudkitty.requests;
    expect(m.sum('bridge_openstack_request_duration_seconds_count', { service: 'cloudkitty' })).to.equal(
      ckSeen.length,
    );
    // CloudKitty answers 404 to /v2/scope while it has processed no scope: an answer, counted by status.
    const ckFailed = ckSeen.filter((r) => typeof r.outcome === 'number' && r.outcome >= 400);
    expect(m.sum('bridge_openstack_request_errors_total')).to.equal(ckFailed.length);
    for (const r of ckFailed) expect(`${r.path.split('?')[0]} ${r.outcome}`).to.equal('/v2/scope 404');
    const paths = new Set(
      m.samples('bridge_openstack_request_duration_seconds_count').map((s) => s.labels.path),
    );
    expect([...paths].sort()).to.deep.equal(['/v2/scope', '/v2/summary']);
  });

  it('counts the usage records and cents Kill Bill holds, per tenant and unit', async () => {
    const m = await bridge.scrape();
    const tenant = bridge.tenant;
    const held = JSON.parse(await recordedCents()) as Record<string, number>;
    const records = new Map<string, number>();
    for (const r of bridge.killbill.seen({ method: 'POST', path: '/1.0/kb/usages' })) {
      if (r.outcome !== 201) continue;
      const body = JSON.parse(r.body) as {
        unitUsageRecords: Array<{ unitType: string; usageRecords: unknown[] }>;
      };
      for (const u of body.unitUsageRecords)
        records.set(u.unitType, (records.get(u.unitType) ?? 0) + u.usageRecords.length);
    }
    for (const unit of Object.values(UNITS)) {
      expect(m.value('bridge_usage_cents_total', { tenant, unit }), unit)
        .to.equal(held[unit])
        .and.equal(expected()[unit]);
      expect(m.value('bridge_usage_records_total', { tenant, unit }), unit)
        .to.equal(records.get(unit))
        .and.above(0);
      expect(m.value('bridge_usage_cents_withdrawn_total', { tenant, unit })).to.equal(0);
      expect(m.value('bridge_usage_corrections_total', { tenant, unit })).to.equal(0);
    }
    expect(m.value('bridge_usage_already_recorded_total', { tenant })).to.equal(0);
    expect(m.family('bridge_credits_total').type).to.equal('counter');
    expect(m.value('bridge_credits_total', { tenant })).to.equal(0);
    const reconcile = m.family('bridge_reconcile_difference_cents');
    expect([reconcile.type, reconcile.samples.length]).to.deep.equal(['gauge', 0]);
  });

  it('reports the age of the last successful sync, kept in Redis by the workers', async () => {
    const m = await bridge.scrape();
    const age = m.value('bridge_sync_last_success_age_seconds', { tenant: bridge.tenant });
    expect(age).to.be.within(0, (Date.now() - flowStarted) / 1000);
  });

  it('sets the subscriptions left idle by a sync run, per reason, zeros included', async () => {
    const before = Date.now();
    const report = await bridge.runtime.usageSync.runOnceReport({ mode: 'new' });
    const m = await bridge.scrape();
    const counts = countIdle(report.idle);
    expect(counts.conflict, 'the two accounts metering one project').to.equal(2);
    for (const reason of IDLE_REASONS) {
      expect(m.value('bridge_sync_idle_subscriptions', { tenant: bridge.tenant, reason }), reason).to.equal(
        counts[reason] ?? 0,
      );
    }
    const age = m.value('bridge_sync_last_success_age_seconds', { tenant: bridge.tenant });
    expect(age).to.be.within(0, (Date.now() - before) / 1000);
  });

  it('answers /metrics at once while Redis is down, without the figures Redis holds', async () => {
    // As `bridge api` alone: the workers would only wait for Redis to come back.
    await bridge.stopWorkers();
    // A worker's connection queues commands while Redis is away: only the deadline ends its scrape.
    const workerConnection = createRedisConnection(bridge.redis.url, 'worker');
    const workerSide = BridgeMetrics.forConfig(bridge.config, { scrapeDeadlineMs: 300 });
    workerSide.readFrom(workerConnection, bridge.config.redis.prefix);
    await bridge.redis.stop();
    try {
      // Answering at all is the point: a scrape that waited for Redis would hang until mocha's timeout.
      const m = await bridge.scrape();
      expect(m.value('bridge_redis_up')).to.equal(0);
      expect(m.samples('bridge_queue_jobs')).to.deep.equal([]);
      expect(m.samples('bridge_sync_last_success_age_seconds')).to.deep.equal([]);
      expect(m.sum('bridge_notifications_total')).to.equal(Object.values(sent).reduce((a, n) => a + n, 0));

      const w = Exposition.parse(await workerSide.registry.metrics());
      expect(w.value('bridge_redis_up')).to.equal(0);
    } finally {
      await bridge.redis.resume();
      await workerSide.close();
      workerConnection.disconnect();
    }
  });
});
