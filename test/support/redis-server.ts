import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisExitedError, RedisProcess } from './redis-processes.js';
import { freePort } from './wait.js';

/**
 * A real redis-server for one test suite, on a free loopback port, with its data in a temp folder.
 * It can be stopped and started again on the same port, so tests can take Redis away and give it back.
 */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  private process: RedisProcess | undefined;
  private readonly clients = new Set<Redis>();

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

  /** On a port free a moment ago; one taken before redis-server binds it is given up for another. */
  static async start(options: { password?: string; appendOnly?: boolean } = {}): Promise<RedisServer> {
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(await freePort(), options.password, options.appendOnly);
      try {
        await server.resume();
        return server;
      } catch (err) {
        await server.close();
        if (!(err instanceof RedisExitedError) || attempt === 3) throw err;
      }
    }
  }

  /** Starts (again) on the same port and waits until it answers PING. */
  async resume(): Promise<void> {
    if (this.process?.alive) return;
    const args = [
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
    ];
    this.process = await RedisProcess.start(this.port, 'redis-server', args, { password: this.password });
  }

  /** Stops the server by its PID and waits until the process has gone. */
  async stop(): Promise<void> {
    await this.process?.kill();
    this.process = undefined;
  }

  /** Stops the server; a client of {@link client} still open is ended too, not left reconnecting forever. */
  async close(): Promise<void> {
    for (const c of this.clients) c.disconnect();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A fresh client; the caller quits it when done (one still open when the server closes is ended then). */
  client(): Redis {
    const c = new Redis(this.url, { maxRetriesPerRequest: null, lazyConnect: false });
    this.clients.add(c);
    c.once('end', () => this.clients.delete(c));
    return c;
  }

  async flush(): Promise<void> {
    const c = this.client();
    try {
      await c.flushall();
    } finally {
      c.disconnect();
    }
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
