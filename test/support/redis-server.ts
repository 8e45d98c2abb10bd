import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './wait.js';

/** Every redis-server still running, killed when the test process exits whatever way it ends. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A real redis-server for one test suite, on a free loopback port, with its data in a temp folder.
 * It can be stopped and started again on the same port, so tests can take Redis away and give it back.
 */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  private child: ChildProcess | undefined;

  private constructor(
    port: number,
    /** With `requirepass`: the URL carries it, as a production Redis URL would. */
    readonly password?: string,
    /** AOF on, fsynced at every write: what it held survives a SIGKILL and a restart (`stop`, `resume`). */
    readonly appendOnly = false,
  ) {
    this.port = port;
    this.dir = mkdtempSync(join(tmpdir(), 'bridge-redis-'));
  }

  get url(): string {
    return `redis://${this.password ? `:${this.password}@` : ''}127.0.0.1:${this.port}`;
  }

  static async start(options: { password?: string; appendOnly?: boolean } = {}): Promise<RedisServer> {
    assertRedisInstalled();
    const server = new RedisServer(await freePort(), options.password, options.appendOnly);
    await server.resume();
    return server;
  }

  /** Starts (again) on the same port and waits until it answers PING. */
  async resume(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        ...(this.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
        // BullMQ needs every key it writes to stay: an evicted job would be a lost job.
        '--maxmemory-policy',
        'noeviction',
        ...(this.password ? ['--requirepass', this.password] : []),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    this.child = child;
    running.add(child);
    child.once('exit', () => {
      running.delete(child);
      if (this.child === child) this.child = undefined;
    });
    await waitFor(`redis-server on port ${this.port} answers PING`, () => this.ping(), { timeoutMs: 10_000 });
  }

  /** Stops the server by its PID and waits until the process has gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) {
      this.child = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A fresh client; the caller quits it. */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: null, lazyConnect: false });
  }

  async flush(): Promise<void> {
    const c = this.client();
    try {
      await c.flushall();
    } finally {
      c.disconnect();
    }
  }

  private async ping(): Promise<boolean> {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  }
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

/**
 * Reads the Redis server has processed (INFO stats), through `redis`: a client's write, one command or a
 * pipeline of many, is one read or a few. The INFO command itself counts too.
 */
export async function readsProcessed(redis: Redis): Promise<number> {
  const stats = await redis.info('stats');
  const m = /total_reads_processed:(\d+)/.exec(stats);
  if (!m) throw new Error(`no total_reads_processed in INFO stats: ${stats}`);
  return Number(m[1]);
}

/** How many times Redis ran `command` (INFO commandstats), 0 when never. */
export async function commandCalls(redis: Redis, command: string): Promise<number> {
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await redis.info('commandstats'));
  return m ? Number(m[1]) : 0;
}
