import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { LoadPlan, LoadResult, PhaseTally } from './load-generator.js';
import { nextBody } from './notification-bodies.js';

/**
 * The load generator's child process: takes a plan over IPC, sends the load, answers with the tallies.
 * Started by {@link LoadGenerator}; not meant to be run by hand.
 */

interface Budget {
  left: number;
}

/** One POST; resolves to the status code, or to the socket error's code. Never rejects. */
function post(agent: Agent, url: URL, body: string, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        // The answer is read to its end so the kept-alive socket is free for the next request.
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'response-error'));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'request-error'));
    req.end(body);
  });
}

/** Keeps `concurrency` requests in flight until the phase's time or the request budget is spent. */
async function phase(plan: LoadPlan, agent: Agent, durationMs: number): Promise<PhaseTally> {
  const url = new URL(plan.url);
  const budget: Budget = { left: plan.maxRequests };
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + durationMs;
  const lane = async () => {
    while (performance.now() < until && budget.left > 0) {
      budget.left -= 1;
      const body = nextBody(plan.bodies);
      const sent = performance.now();
      const outcome = await post(agent, url, body, plan.requestTimeoutMs);
      latencies.push(performance.now() - sent);
      if (typeof outcome === 'number' && outcome >= 200 && outcome < 300) {
        ok += 1;
      } else {
        errors += 1;
        errorKinds[String(outcome)] = (errorKinds[String(outcome)] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, lane));
  return { ok, errors, errorKinds, elapsedMs: performance.now() - started, latenciesMs: latencies };
}

/** One agent per server, kept across rounds, so later rounds start on connections already open. */
const agents = new Map<string, Agent>();

async function runPlan(plan: LoadPlan): Promise<LoadResult> {
  const server = new URL(plan.url).host;
  let agent = agents.get(server);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
    agents.set(server, agent);
  }
  const warmup = await phase(plan, agent, plan.warmupMs);
  const measured = await phase(plan, agent, plan.durationMs);
  return { warmup, measured };
}

process.on('message', (plan: LoadPlan) => {
  runPlan(plan).then(
    (result) => process.send!(result),
    (err: unknown) => {
      console.error('load client failed:', err);
      process.exit(1);
    },
  );
});
// Never outlive the bench: when the parent goes, so does the IPC channel.
process.on('disconnect', () => process.exit(0));
