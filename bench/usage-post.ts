import { fork } from 'node:child_process';
import http from 'node:http';
import { KillBillClient, type SubscriptionUsageRecord } from '../src/clients/killbill/killbill-client.js';

/**
 * `npm run bench` (usage record part): the bridge's CPU to send one usage record, the call a sync makes per
 * subscription and window, next to a bare `http.request` of the same bytes measured in the same run. Kill
 * Bill is a child process answering 201 at once, so the CPU counted here is the caller's alone. The ways
 * take turns, ROUNDS times, so a busy moment of the shared machine falls on each alike.
 */
const RECORDS = Number(process.env.BENCH_USAGE_RECORDS ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LANES = 16;

if (process.argv[2] === 'serve') {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.statusCode = 201;
        res.end();
      };
      // The pace part asks for Kill Bill's own pace: an answer after its busy usage path, not at once.
      const delayMs = Number(req.headers['x-bench-delay'] ?? 0);
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port));
} else {
  await main();
}

function record(i: number): SubscriptionUsageRecord {
  return {
    subscriptionId: '3f1b1c9e-5d2a-4c8e-9f1a-0c4b6e7d8a90',
    trackingId: `bench-${i}`,
    unitUsageRecords: ['openstack-billed-instance', 'openstack-billed-vcpus'].map((unitType) => ({
      unitType,
      usageRecords: [{ recordDate: '2026-11-30T10:00:00.000Z', amount: 12 }],
    })),
  };
}

/** The floor: the same request on `http.request` and a kept-alive agent, nothing else. */
function bareSender(url: string, delayMs = 0): (i: number) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true });
  const headers = {
    ...(delayMs > 0 ? { 'X-Bench-Delay': String(delayMs) } : {}),
    'Content-Type': 'application/json',
    Authorization: `Basic ${Buffer.from('admin:password').toString('base64')}`,
    'X-Killbill-ApiKey': 'bench',
    'X-Killbill-ApiSecret': 'bench',
    'X-Killbill-CreatedBy': 'bench',
  };
  return (i) => {
    const body = JSON.stringify(record(i));
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${url}/1.0/kb/usages`,
        { method: 'POST', agent, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } },
        (res) => res.resume().on('end', resolve),
      );
      req.on('error', reject).end(body);
    });
  };
}

/** The bridge's client, as a sync has it (Node's own client) or as a proxy in the environment makes it (axios). */
function clientSender(url: string, viaAxios: boolean): (i: number) => Promise<unknown> {
  const saved = process.env.HTTP_PROXY;
  if (viaAxios) Object.assign(process.env, { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1' });
  const kb = new KillBillClient({
    url,
    username: 'admin',
    password: 'password',
    apiKey: 'bench',
    apiSecret: 'bench',
  });
  if (saved === undefined) delete process.env.HTTP_PROXY;
  else process.env.HTTP_PROXY = saved;
  return (i) => kb.recordUsage(record(i));
}

/** CPU (user + system) of this process per record, `lanes` in flight. */
async function cpuPerRecord(
  send: (i: number) => Promise<unknown>,
  from: number,
  records = RECORDS,
  lanes = LANES,
): Promise<number> {
  let next = 0;
  const before = process.cpuUsage();
  const lane = async () => {
    while (next < records) await send(from + next++);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / records;
}

/**
 * The bare client again, 4 in flight, against answers that come later and later, down to Kill Bill's own pace
 * in the sync bench (about 25 records a second). Each answer then wakes the process alone, and the CPU per
 * record grows, whatever client sends it; with Kill Bill itself busy on the same cores it grows further
 * (BENCHMARKS.md). That bounds the sync bench's CPU per subscription on a small machine.
 */
async function atKillBillsPace(url: string): Promise<void> {
  console.log('\n  the bare client at a slower server’s pace, 4 in flight:');
  for (const [delayMs, records] of [
    [0, 4000],
    [20, 800],
    [150, 400],
  ] as const) {
    const send = bareSender(url, delayMs);
    await cpuPerRecord(send, 0, 100, 4); // warm-up
    const started = performance.now();
    const cpu = await cpuPerRecord(send, 100, records, 4);
    const perSecond = (records / (performance.now() - started)) * 1000;
    console.log(
      `    answer after ${String(delayMs).padStart(3)} ms: ${perSecond.toFixed(0).padStart(5)} records/s, ` +
        `${cpu.toFixed(0).padStart(4)} µs CPU per record`,
    );
  }
}

async function main(): Promise<void> {
  const server = fork(new URL(import.meta.url).pathname, ['serve'], { execArgv: ['--import', 'tsx/esm'] });
  try {
    const port = await new Promise<number>((resolve) => server.once('message', (m) => resolve(Number(m))));
    const url = `http://127.0.0.1:${port}`;
    const ways: Array<[string, (i: number) => Promise<unknown>]> = [
      ['bare http.request (floor)', bareSender(url)],
      ['bridge client (sync path)', clientSender(url, false)],
      ['bridge client via axios', clientSender(url, true)],
    ];
    const cpu = ways.map(() => [] as number[]);
    for (const [, send] of ways) await cpuPerRecord(send, 0); // warm-up: JIT, connections
    for (let round = 1; round <= ROUNDS; round++)
      for (const [w, [, send]] of ways.entries()) cpu[w]!.push(await cpuPerRecord(send, round * RECORDS));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const floor = median(cpu[0]!);
    console.log(
      `\nusage record bench: ${RECORDS} records × ${ROUNDS} rounds, ${LANES} in flight; caller CPU per record (median)`,
    );
    for (const [w, [label]] of ways.entries()) {
      const m = median(cpu[w]!);
      console.log(
        `  ${label.padEnd(27)} ${m.toFixed(0).padStart(5)} µs   ${(m / floor).toFixed(2)}× the floor`,
      );
    }
    await atKillBillsPace(url);
  } finally {
    server.kill();
  }
}
