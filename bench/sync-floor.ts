import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KillBillTenant } from '../test/support/killbill-server.js';
import { tenantHeaders } from '../test/support/killbill-server.js';
import { systemCalls } from './thread-cpu.js';

/** One subscription's usage record for the floor: both units, in one record. */
export interface FloorRecord {
  subscriptionId: string;
  units: string[];
}

export interface FloorRate {
  concurrency: number;
  records: number;
  ms: number;
  perSecond: number;
}

/**
 * The floor of a sync's Kill Bill part: a bare client (Node's `http.request` on a kept-alive agent, as the
 * bridge's own usage client, and nothing else) posting usage records of the bridge's shape (both units, an
 * hour's recordDate, whole cents, a tracking id as long) to the same Kill Bill, through the same proxy,
 * `concurrency` at once. `day` keeps these records apart from the bridge's, so reading the bridge's totals
 * back stays exact.
 */
export async function postBare(kbUrl: string, tenant: KillBillTenant, trial: FloorTrial): Promise<FloorRate> {
  const { records, concurrency, day } = trial;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL('/1.0/kb/usages', kbUrl);
  let next = 0;
  const start = performance.now();
  const lane = async () => {
    while (next < records.length) {
      const i = next++;
      const r = records[i]!;
      const hour = `${day}T${String(i % 24).padStart(2, '0')}`;
      const body = JSON.stringify({
        subscriptionId: r.subscriptionId,
        trackingId: `floor-${r.subscriptionId}-${hour}-${concurrency}`,
        unitUsageRecords: r.units.map((unitType, u) => ({
          unitType,
          usageRecords: [
            {
              recordDate: `${hour}:30:00.000Z`,
              amount: ((i * 7 + u * 13) % 389) + 1,
            },
          ],
        })),
      });
      const status = await post(target, agent, tenant, body);
      if (status !== 201) throw new Error(`floor: Kill Bill answered ${status} to a usage record`);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, lane));
  } finally {
    agent.destroy();
  }
  const ms = performance.now() - start;
  return { concurrency, records: records.length, ms, perSecond: (records.length / ms) * 1000 };
}

function post(target: URL, agent: http.Agent, tenant: KillBillTenant, body: string): Promise<number> {
  const headers = {
    ...tenantHeaders(tenant),
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  };
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', agent, headers, timeout: 60_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('floor: Kill Bill did not answer within 60 s')));
    req.once('error', reject);
    req.end(body);
  });
}

/** Set in the environment of bestBareRateApart's child: the file is then run as the floor client. */
const CHILD = 'BENCH_FLOOR_CHILD';

/** `records` posted `concurrency` at once, dated `day` (YYYY-MM-DD); no record repeats another trial's. */
export interface FloorTrial {
  concurrency: number;
  day: string;
  records: readonly FloorRecord[];
}

export interface FloorRun {
  kbUrl: string;
  tenant: KillBillTenant;
  trials: readonly FloorTrial[];
}

export interface BareRates {
  best: FloorRate;
  tried: FloorRate[];
  /** CPU (user + system) the bare client spent per record it posted, in ms; its start-up not included. */
  cpuMsPerRecord: number;
  /** Read-like and write-like system calls per record, where `/proc` says. */
  systemCallsPerRecord?: { reads: number; writes: number };
}

/** Kill Bill's best rate for usage records on this machine now: each trial in turn, the best taken. */
export async function bestBareRate(run: FloorRun): Promise<BareRates> {
  const tried: FloorRate[] = [];
  const [cpu, calls] = [process.cpuUsage(), systemCalls()];
  for (const trial of run.trials) tried.push(await postBare(run.kbUrl, run.tenant, trial));
  const [used, callsAfter] = [process.cpuUsage(cpu), systemCalls()];
  const posted = tried.reduce((sum, r) => sum + r.records, 0);
  const best = tried.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const systemCallsPerRecord =
    calls && callsAfter
      ? {
          reads: (callsAfter.reads - calls.reads) / posted,
          writes: (callsAfter.writes - calls.writes) / posted,
        }
      : undefined;
  return { best, tried, cpuMsPerRecord: (used.user + used.system) / 1000 / posted, systemCallsPerRecord };
}

/**
 * {@link bestBareRate} in a process of its own, like the bridge's: its CPU per record is then the bare
 * client's alone, the yardstick for the bridge's CPU per subscription on this machine in this run.
 */
export function bestBareRateApart(run: FloorRun, scratchFile: string): Promise<BareRates> {
  // The tenant's credentials are in it: the child removes it once read.
  writeFileSync(scratchFile, JSON.stringify(run), { mode: 0o600 });
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, fileURLToPath(import.meta.url), scratchFile], {
    env: { ...process.env, [CHILD]: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      rmSync(scratchFile, { force: true });
      if (code !== 0) reject(new Error(`floor client exited with ${code}`));
      else if (out === '') reject(new Error('floor client printed nothing'));
      else resolve(JSON.parse(out) as BareRates);
    });
  });
}

// Run as the child of bestBareRateApart.
if (process.env[CHILD] === '1') {
  const file = process.argv[2]!;
  const run = JSON.parse(readFileSync(file, 'utf8')) as FloorRun;
  rmSync(file, { force: true });
  process.stdout.write(JSON.stringify(await bestBareRate(run)));
}
