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
      res.statusCode = 201;
      res.end();
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
function bareSender(url: string): (i: number) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true });
  const headers = {
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

/** CPU (user + system) of this process per record, `LANES` in flight. */
async function cpuPerRecord(send: (i: number) => Promise<unknown>, from: number): Promise<number> {
  let next = 0;
  const before = process.cpuUsage();
  const lane = async () => {
    while (next < RECORDS) await send(from + next++);
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / RECORDS;
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
  } finally {
    server.kill();
  }
}
