import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const BRIDGE = fileURLToPath(new URL('../../bin/bridge.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Only what the operator sets: no bridge setting of the test run's own environment leaks in. */
function environment(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env };
}

/** `node bin/bridge.js ARGS` run to its end, as an operator runs it, configured by the environment. */
export function runBridge(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliRun> {
  const child = spawn(process.execPath, [BRIDGE, ...args], {
    env: environment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running `bridge start|api|worker`, whose output the test reads while it runs. */
export class RunningBridge {
  stdout = '';
  stderr = '';
  /** The exit code once the process has ended. */
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static start(args: string[], env: Record<string, string>): RunningBridge {
    const child = spawn(process.execPath, [BRIDGE, ...args], {
      env: environment(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new RunningBridge(child);
  }

  /** The JSON log lines written so far (stderr), parsed. */
  logLines(): Array<Record<string, unknown>> {
    return this.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Log lines whose `msg` matches. */
  said(pattern: RegExp): string[] {
    return this.logLines()
      .map((l) => String(l.msg))
      .filter((m) => pattern.test(m));
  }

  async waitUntilSaid(what: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const [line] = await waitFor(what, () => (this.said(pattern).length > 0 ? this.said(pattern) : null), {
      timeoutMs,
      intervalMs: 100,
    });
    return line!;
  }

  /** Sends a signal without waiting for the process to end. */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }

  /** SIGTERM, as a service manager stops it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** What a bridge process's `/readyz` answered. */
export interface Readiness {
  status: number;
  body: { ready: boolean; down: string[]; checks: Record<string, string> };
}

export async function readyz(port: number): Promise<Readiness> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}
