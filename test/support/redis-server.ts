import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { dataNodeArgs, RedisProcess } from './redis-processes.js';

/**
 * A real redis-server for one test suite, on a free loopback port, with its data in a temp folder.
 * It can be stopped and started again on the same port, so tests can take Redis away and give it back.
 */
export class RedisServer {
  private readonly clients = new Set<Redis>();

  private constructor(
    private node: RedisProcess | undefined,
    readonly port: number,
    readonly dir: string,
    /** With `requirepass`: the URL carries it, as a production Redis URL would. */
    readonly password?: string,
    /** AOF on, fsynced at every write: what it held survives a SIGKILL and a restart (`stop`, `resume`). */
    readonly appendOnly = false,
  ) {}

  get url(): string {
    return `redis://${this.password ? `:${this.password}@` : ''}127.0.0.1:${this.port}`;
  }

  /** On a port free a moment ago (another one if it is taken before redis-server binds it). */
  static async start(options: { password?: string; appendOnly?: boolean } = {}): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-redis-'));
    try {
      const node = await RedisProcess.startOnFreePort(
        'redis-server',
        (port) => serverArgs(port, dir, options),
        { password: options.password },
      );
      return new RedisServer(node, node.port, dir, options.password, options.appendOnly);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Starts (again) on the same port and waits until it answers PING. */
  async resume(): Promise<void> {
    if (this.node?.alive) return;
    const args = serverArgs(this.port, this.dir, this);
    this.node = await RedisProcess.start(this.port, 'redis-server', args, { password: this.password });
  }

  /** Stops the server by its PID and waits until the process has gone. */
  async stop(): Promise<void> {
    await this.node?.kill();
    this.node = undefined;
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

/** A data node's arguments, with the server's password. */
function serverArgs(port: number, dir: string, o: { password?: string; appendOnly?: boolean }): string[] {
  return [...dataNodeArgs(port, dir, o), ...(o.password ? ['--requirepass', o.password] : [])];
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
