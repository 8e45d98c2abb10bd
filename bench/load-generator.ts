import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BodyPlan } from './notification-bodies.js';

/** One scenario's load: where to POST, what, how hard and for how long. */
export interface LoadPlan {
  url: string;
  bodies: BodyPlan;
  /** Requests in flight at once, each on its own kept-alive socket. */
  concurrency: number;
  /** Load sent first and not measured: connections open, JIT and Redis scripts warm up. 0 = none. */
  warmupMs: number;
  durationMs: number;
  /** Upper bound on requests per phase, so the loop ends even if the clock misbehaves. */
  maxRequests: number;
  /** A request taking longer is abandoned and counted as an error. */
  requestTimeoutMs: number;
}

/** What one phase (warm-up or measured) produced. */
export interface PhaseTally {
  /** Requests answered 2xx. */
  ok: number;
  /** Requests answered otherwise, or that failed on the socket or timed out. */
  errors: number;
  /** Error answers by status code or socket error code, to say what went wrong. */
  errorKinds: Record<string, number>;
  /** From the first request sent to the last answer received, in-flight tail included. */
  elapsedMs: number;
  /** Every request's latency, errors included: raw, so rounds can be merged before taking percentiles. */
  latenciesMs: number[];
}

export interface LoadResult {
  warmup: PhaseTally;
  measured: PhaseTally;
}

/**
 * Drives load from a separate Node process, so the client's own work (building bodies, parsing answers,
 * timing) does not run on the event loop of the servers it measures. One process serves every scenario:
 * starting tsx once keeps the run short.
 */
export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  static start(): LoadGenerator {
    const entry = fileURLToPath(new URL('./load-client.ts', import.meta.url));
    // The child needs tsx's loader too; it is in our own execArgv when started through `tsx`.
    const child = fork(entry, [], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new LoadGenerator(child);
  }

  run(plan: LoadPlan): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onMessage = (result: LoadResult) => {
        this.child.off('exit', onExit);
        resolve(result);
      };
      const onExit = (code: number | null) => {
        this.child.off('message', onMessage);
        reject(new Error(`load client exited (code ${code}) before reporting`));
      };
      this.child.once('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(plan);
    });
  }

  /** Ends the child by its PID; it also exits by itself when the IPC channel closes. */
  async close(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}
