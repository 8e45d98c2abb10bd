import { expect } from 'chai';
import { Agent, request } from 'node:http';
import type { Job } from 'bullmq';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { REGISTRY_JOB_OPTIONS, type RegistryJobData } from '../../src/jobs/registry-jobs.js';
import { RunningBridge } from '../support/bridge-cli.js';
import { freePort, waitFor } from '../support/wait.js';
import { WorkerStack } from '../support/worker-stack.js';

/** Signals the process and resolves with its exit code once it has ended. */
async function signalAndWait(bridge: RunningBridge, signal: NodeJS.Signals = 'SIGTERM') {
  bridge.signal(signal);
  return { code: await bridge.exited };
}

/** A keep-alive GET whose connection stays open afterwards, as a load balancer's pool holds one. */
function keptAlive(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

/**
 * SIGTERM/SIGINT on the real CLI: stop taking work, let the work in hand finish within
 * server.shutdownTimeout, exit 0; past the limit exit 1 naming what still ran, and lose nothing.
 */
describe('graceful shutdown of bridge api|worker|start (the real CLI)', function () {
  this.timeout(10 * 60_000);
  let stack: WorkerStack;
  const running: RunningBridge[] = [];
  const start = (args: string[], env: Record<string, string>) => {
    const bridge = RunningBridge.start(args, stack.env(env));
    running.push(bridge);
    return bridge;
  };

  before(async () => {
    stack = await WorkerStack.start();
  });
  afterEach(async () => {
    stack.proxy.latencyMs = 0;
    for (const b of running.splice(0)) await b.stop();
  });
  after(async () => {
    await stack?.close();
  });

  it('bridge api: SIGTERM while idle, a kept-alive connection open, exits 0 at once', async () => {
    const port = await freePort();
    const bridge = start(['api'], { PORT: String(port) });
    await bridge.waitUntilSaid('the API listens', /^intake API listening$/);
    const agent = new Agent({ keepAlive: true });
    try {
      expect(await keptAlive(port, agent)).to.equal(200);
      const { code } = await signalAndWait(bridge);
      expect(code, bridge.stderr).to.equal(0);
      expect(bridge.said(/^stopped$/)).to.have.length(1);
    } finally {
      agent.destroy();
    }
  });

  it('bridge worker (no health port) and bridge start: SIGTERM or SIGINT while idle exit 0 at once', async () => {
    const worker = start(['worker'], { BRIDGE_WORKER_HEALTH_PORT: '0' });
    await worker.waitUntilSaid('the workers started', /^workers started$/);
    await stack.idle();
    const stopped = await signalAndWait(worker, 'SIGINT');
    expect(stopped.code, worker.stderr).to.equal(0);
    expect(worker.said(/^stopped$/)).to.have.length(1);
    expect(worker.said(/^worker health on port/)).to.deep.equal([]);

    const port = await freePort();
    const both = start(['start'], { PORT: String(port) });
    await both.waitUntilSaid('the workers started', /^workers started$/);
    await stack.idle();
    const { code } = await signalAndWait(both);
    expect(code, both.stderr).to.equal(0);
    expect(
      both.said(/^SIGTERM: stopping; in-flight requests and running jobs get 30s to finish$/),
    ).to.have.length(1);
    expect(both.said(/^stopped$/)).to.have.length(1);
  });

  /** A worker, idle, then a registry job re-reading a new account through a Kill Bill made slow. */
  async function slowAccountJob(bridge: RunningBridge, latencyMs: number) {
    await bridge.waitUntilSaid('the workers started', /^workers started$/);
    await stack.idle();
    const accountId = await stack.meteredAccount();
    stack.proxy.latencyMs = latencyMs;
    const queue = stack.queue<RegistryJobData>(REGISTRY_QUEUE);
    const job: Job<RegistryJobData> = await queue.add(
      'account',
      {
        kind: 'account',
        tenantApiKey: stack.tenant.apiKey,
        accountId,
        cause: { eventType: 'ACCOUNT_CREATION', objectType: 'ACCOUNT', objectId: accountId },
      },
      REGISTRY_JOB_OPTIONS,
    );
    await queue.close();
    // Running, and waiting on Kill Bill for this very account.
    // Every call before it (the catalog) is slowed as much, so allow for a few of them.
    await waitFor(
      'the job is running and reading the account from Kill Bill',
      async () =>
        (await job.getState()) === 'active'
          ? stack.proxy.seen({ path: `/1.0/kb/accounts/${accountId}` }).length
          : 0,
      { timeoutMs: 5 * latencyMs + 10_000 },
    );
    return { job, accountId };
  }

  it('SIGTERM while a registry job runs against a slow Kill Bill: waits for it, exits 0, job completed', async () => {
    const bridge = start(['worker'], { BRIDGE_WORKER_HEALTH_PORT: '0', BRIDGE_SHUTDOWN_TIMEOUT: '30s' });
    const { job, accountId } = await slowAccountJob(bridge, 1_000);
    const { code } = await signalAndWait(bridge);
    expect(code, bridge.stderr).to.equal(0);
    expect(await job.getState()).to.equal('completed');
    const updated = bridge
      .logLines()
      .filter((l) => l.event === 'registry.account_refreshed' && l.accountId === accountId);
    expect(updated).to.have.length(1);
    expect((await stack.entriesOf(accountId)).map((e) => e.status)).to.deep.equal(['metered']);
    expect(bridge.said(/^stopped$/)).to.have.length(1);
  });

  it('past server.shutdownTimeout: exits 1 naming the running job; the next worker completes it once', async () => {
    const first = start(['worker'], { BRIDGE_WORKER_HEALTH_PORT: '0', BRIDGE_SHUTDOWN_TIMEOUT: '1s' });
    const { job, accountId } = await slowAccountJob(first, 3_000);
    const { code } = await signalAndWait(first);
    expect(code, first.stderr).to.equal(1);
    const [timeout] = first.logLines().filter((l) => l.event === 'process.stop_timeout');
    expect(timeout?.level).to.equal('error');
    const named = `${REGISTRY_QUEUE} job ${job.id} (account)`;
    expect(timeout?.running).to.deep.equal([named]);
    expect(timeout?.msg).to.equal(
      `not stopped within server.shutdownTimeout (1s), exiting anyway; still running: ${named}; ` +
        `back in their queue for the next worker: ${named}`,
    );
    expect(first.said(/^stopped$/)).to.deep.equal([]);
    expect(await job.getState()).to.equal('waiting');

    stack.proxy.latencyMs = 0;
    const second = start(['worker'], { BRIDGE_WORKER_HEALTH_PORT: '0' });
    await waitFor('the next worker completed the job', async () => (await job.getState()) === 'completed', {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const done = await stack.queue<RegistryJobData>(REGISTRY_QUEUE).getJob(job.id!);
    expect(done?.attemptsMade).to.equal(1);
    expect(done?.failedReason ?? '').to.equal('');
    const refreshedBy = (b: RunningBridge) =>
      b.logLines().filter((l) => l.event === 'registry.account_refreshed' && l.accountId === accountId);
    expect(refreshedBy(first)).to.deep.equal([]);
    expect(refreshedBy(second).length).to.be.at.least(1);
    expect((await stack.entriesOf(accountId)).map((e) => e.status)).to.deep.equal(['metered']);
    expect(await second.stop()).to.equal(0);
  });

  it('a second signal exits at once, non-zero, without waiting for the running job', async () => {
    const bridge = start(['worker'], { BRIDGE_WORKER_HEALTH_PORT: '0', BRIDGE_SHUTDOWN_TIMEOUT: '60s' });
    // Each Kill Bill call takes 8 s (under the client's 20 s timeout): a process that waited would not be done.
    const { job } = await slowAccountJob(bridge, 8_000);
    bridge.signal('SIGTERM');
    await bridge.waitUntilSaid('the stop began', /^SIGTERM: stopping/);
    const { code } = await signalAndWait(bridge, 'SIGINT');
    expect(code).to.equal(130);
    expect(await job.getState()).to.not.equal('completed');
    expect(bridge.said(/^SIGINT again: exiting now/)).to.have.length(1);
  });
});
