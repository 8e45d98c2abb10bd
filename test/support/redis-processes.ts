import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort, waitFor } from './wait.js';

/**
 * The redis-server processes (data nodes and Sentinels) the topology harnesses start. Every one still
 * running is killed when the test process exits, however it ends, so no test leaves Redis behind.
 */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One redis-server process; killed by its own PID, never by name. */
export class RedisProcess {
  private constructor(
    readonly port: number,
    readonly label: string,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  /**
   * Starts `redis-server ...args` and waits until it answers PING on `port`. A process that exits first
   * (its port taken, a bad argument) fails at once with the last lines of its own log, not after a timeout.
   */
  static async start(
    port: number,
    label: string,
    args: string[],
    ping?: RedisOptions,
  ): Promise<RedisProcess> {
    assertRedisInstalled();
    // Redis logs to stdout, a bad argument to stderr: both are read always (a full pipe would block the
    // server) and their tail kept for the error that says why it did not start.
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = new LogTail();
    child.stdout?.on('data', (chunk: Buffer) => log.add(chunk));
    child.stderr?.on('data', (chunk: Buffer) => log.add(chunk));
    running.add(child);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        running.delete(child);
        resolve();
      }),
    );
    const started = new RedisProcess(port, label, child, exited);
    // Ours by its PID: another Redis on the port would answer PING while this one exits for want of it.
    const answersOrExited = async () => !started.alive || answersAs(port, child.pid, ping);
    try {
      await waitFor(`${label} on port ${port} answers PING`, answersOrExited, { timeoutMs: 15_000 });
    } catch (err) {
      await started.kill();
      throw err;
    }
    if (!started.alive) {
      await new Promise((resolve) => (isClosed(child) ? resolve(null) : child.once('close', resolve)));
      throw new RedisExitedError(label, port, child, log.text());
    }
    return started;
  }

  /**
   * {@link start} on a port free a moment ago, `argsFor` giving the arguments for it. A free port can be
   * taken before redis-server binds it (another test's process, an outgoing connection), so a process
   * that exits before answering is started again on a fresh port, up to three times.
   */
  static async startOnFreePort(
    label: string,
    argsFor: (port: number) => string[] | Promise<string[]>,
    ping?: RedisOptions,
  ): Promise<RedisProcess> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        return await RedisProcess.start(port, label, await argsFor(port), ping);
      } catch (err) {
        if (!(err instanceof RedisExitedError) || attempt === 3) throw err;
      }
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing until {@link resume}. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** A short-lived client to this process; the caller disconnects it. */
  client(options: RedisOptions = {}): Redis {
    const c = new Redis({ host: '127.0.0.1', port: this.port, maxRetriesPerRequest: 1, ...options });
    c.on('error', () => {});
    return c;
  }

  /** Runs one command on this process over a fresh connection. */
  async command(name: string, ...args: Array<string | number>): Promise<unknown> {
    const c = this.client();
    try {
      return await c.call(name, ...args);
    } finally {
      c.disconnect();
    }
  }
}

/** A redis-server that exited before it answered PING; its message carries the server's own log. */
export class RedisExitedError extends Error {
  constructor(label: string, port: number, child: ChildProcess, log: string) {
    const how = child.signalCode ?? `exit code ${String(child.exitCode)}`;
    super(`${label} on port ${port} exited (${how}) before answering PING; its log ends:\n${log}`);
    this.name = 'RedisExitedError';
  }
}

/** Whether both of a process's output pipes have closed (its 'close' event has been or is about to be sent). */
const isClosed = (child: ChildProcess) => Boolean(child.stdout?.closed && child.stderr?.closed);

/** The last lines a process wrote, a line cut between two chunks joined again. */
class LogTail {
  private lines: string[] = [];
  private partial = '';

  add(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts.filter(Boolean));
    if (this.lines.length > 20) this.lines = this.lines.slice(-20);
  }

  text(): string {
    return [...this.lines, this.partial].filter(Boolean).join('\n');
  }
}

/** Whether the Redis on `port` answers PING (not LOADING) and is the process `pid`. */
async function answersAs(
  port: number,
  pid: number | undefined,
  options: RedisOptions = {},
): Promise<boolean> {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    // Whatever holds the port may accept and never answer; a check that hangs would hide the exit.
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    enableReadyCheck: false,
    ...options,
  });
  c.on('error', () => {});
  try {
    await c.connect();
    if ((await c.ping()) !== 'PONG') return false;
    return /process_id:(\d+)/.exec(await c.info('server'))?.[1] === String(pid);
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

/** A temp folder for one harness; `remove()` once its processes are gone. */
export function tempDir(name: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `bridge-${name}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Arguments every data node gets: loopback only, no snapshots, and no eviction (BullMQ needs it). With
 * `appendOnly`, an AOF fsynced at every write, so what it held survives a SIGKILL and a restart.
 */
export function dataNodeArgs(port: number, dir: string, { appendOnly = false } = {}): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    '--maxmemory-policy',
    'noeviction',
  ];
}

function assertRedisInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed, and the tests need a real one. ' +
        'Install it with: sudo apt-get install -y redis-server',
    );
  }
}
