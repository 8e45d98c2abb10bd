import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where a bridge run's CPU went, by thread, and how many read and write system calls it made (Linux `/proc`).
 * GNU time gives one figure for the whole process: on this VM up to 40 % of it can be V8's background threads
 * (TurboFan compiling, GC helpers), which grow with the subscriptions far less than in proportion (BENCHMARKS.md);
 * and a system call is dear here, so their count per subscription is the figure that does not move with the
 * machine's load.
 */
export interface ThreadCpu {
  /** CPU (user + system) of the main thread: the event loop, the bridge's own code. */
  mainS: number;
  /** CPU of every other thread of the process, and how many there were. */
  othersS: number;
  others: number;
  /** `read`-like and `write`-like system calls of the whole process (`syscr`, `syscw`). */
  reads: number;
  writes: number;
}

const SAMPLE_MS = 50;
/** Clock ticks a second (`getconf CLK_TCK`): 100 on every Linux Node runs on. */
const TICKS_PER_S = 100;

/**
 * Samples the node process that `parentPid` (GNU time) started until `stop`: `/proc` of a process is gone once
 * it exits, so its last sample stands for it (up to {@link SAMPLE_MS} of its end is missed). Undefined where
 * there is no `/proc`.
 */
export function watchThreads(parentPid: number | undefined): { stop(): ThreadCpu | undefined } {
  let last: ThreadCpu | undefined;
  const sample = () => {
    try {
      const [pid] = readFileSync(`/proc/${parentPid}/task/${parentPid}/children`, 'utf8').split(/\s+/);
      if (pid) last = threadCpu(pid);
    } catch {
      // Not started yet, or already gone: the last sample stands.
    }
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      return last;
    },
  };
}

function threadCpu(pid: string): ThreadCpu {
  const cpu = { mainS: 0, othersS: 0, others: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const s = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
    if (tid === pid) cpu.mainS = s;
    else if (s > 0) {
      cpu.othersS += s;
      cpu.others++;
    }
  }
  const calls = systemCalls(pid);
  if (!calls) throw new Error(`process ${pid} is gone`);
  return { ...cpu, ...calls };
}

/** Read-like and write-like system calls made so far by a process (`self`: this one); undefined without `/proc`. */
export function systemCalls(pid = 'self'): { reads: number; writes: number } | undefined {
  let io: string;
  try {
    io = readFileSync(`/proc/${pid}/io`, 'utf8');
  } catch {
    return undefined;
  }
  const count = (field: string) => Number(new RegExp(`^${field}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN);
  return { reads: count('syscr'), writes: count('syscw') };
}

/** One line for a run of `n` subscriptions. */
export function threadCpuLine(t: ThreadCpu | undefined, n: number): string {
  if (!t) return 'not measured (no /proc here)';
  const per = (x: number) => (x / n).toFixed(1);
  return (
    `main thread ${t.mainS.toFixed(1)} s, ${t.others} others ${t.othersS.toFixed(1)} s (V8's compiler and GC ` +
    `helpers, libuv's pool); system calls a subscription: ${per(t.reads)} reads, ${per(t.writes)} writes`
  );
}
