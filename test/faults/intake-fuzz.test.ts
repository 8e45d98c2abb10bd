import { expect } from 'chai';
import { request as httpRequest, Agent } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Queue } from 'bullmq';
import type { ApiService } from '../../src/app/api-service.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { startIntakeService, type IntakeService } from '../support/intake-service.js';
import { fuzzCases, type FuzzCase } from './fuzz-cases.js';

const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261129);

interface Answer {
  status: number;
  body: string;
}

function send(port: number, agent: Agent, c: FuzzCase): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, agent, method: 'POST', path: c.path, headers: c.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(c.body);
  });
}

/** Heap in use after a full collection: what the process keeps, not what it has yet to collect. */
function heapKept(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

/**
 * 10,000 generated bad (and a few well-formed but ignorable) notifications against the real intake and a real
 * Redis: every answer is a 4xx with a reason, or 200 for a well-formed event the bridge ignores; never a 5xx,
 * never a crash, never a job. Kill Bill retries a 5xx for 39 hours, so one would be a days-long incident.
 * FUZZ_SEED and FUZZ_COUNT replay or widen a run.
 */
describe('intake fuzz: generated bad bodies, real HTTP and Redis', function () {
  this.timeout(10 * 60_000);
  let intake: IntakeService;
  let api: ApiService;
  let queue: Queue;

  before(async () => {
    intake = await startIntakeService();
    ({ api, queue } = intake);
  });
  after(async () => {
    await intake?.close();
  });

  it(`answers ${COUNT} generated bodies with a 4xx and a reason (200 for ignorable ones), no job, memory flat`, async () => {
    const cases = fuzzCases(SEED, COUNT, TEST_TOKEN);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const byStatus = new Map<number, number>();
    const wrong: string[] = [];
    const heapBefore = heapKept();
    let next = 0;
    const lane = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const answer = await send(api.port, agent, c);
        byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
        const why = judge(c, answer);
        if (why && wrong.length < 20) wrong.push(`${c.kind} (#${c.index}): ${why}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    agent.destroy();
    const heapAfter = heapKept();
    const grewMb = (heapAfter - heapBefore) / 2 ** 20;
    console.log(
      `      fuzz seed ${SEED}: ${COUNT} bodies, answers ${JSON.stringify(Object.fromEntries(byStatus))}, ` +
        `heap kept ${(heapBefore / 2 ** 20).toFixed(1)} → ${(heapAfter / 2 ** 20).toFixed(1)} MB`,
    );
    expect(wrong, 'answers that break the rule').to.deep.equal([]);
    expect([...byStatus.keys()].filter((s) => s >= 500)).to.deep.equal([]);
    expect(await queue.count(), 'jobs queued for bodies the bridge must not act on').to.equal(0);
    // Generous: a leak of even a few hundred bytes per request would show as tens of MB over 10,000.
    expect(grewMb, 'heap kept after the run (MB)').to.be.lessThan(32);
    const health = await fetch(`http://127.0.0.1:${api.port}/healthz`);
    expect(health.status).to.equal(200);
  });
});

/** Why an answer breaks the rule for its case, or null when it keeps it. */
function judge(c: FuzzCase, a: Answer): string | null {
  if (!c.expect.includes(a.status))
    return `answered ${a.status}, expected ${c.expect.join('|')}: ${a.body.slice(0, 120)}`;
  if (a.status === 200) return null;
  let parsed: { error?: unknown; reason?: unknown };
  try {
    parsed = JSON.parse(a.body) as typeof parsed;
  } catch {
    return `a ${a.status} whose body is not JSON: ${a.body.slice(0, 80)}`;
  }
  if (typeof parsed.error !== 'string' || parsed.error === '') return `a ${a.status} without an error`;
  if (a.status === 400 && parsed.error === 'malformed notification' && typeof parsed.reason !== 'string')
    return 'a malformed-notification 400 without a reason';
  return null;
}
