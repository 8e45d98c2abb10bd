import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataNodeArgs, RedisProcess, tempDir } from './redis-processes.js';
import { waitFor } from './wait.js';

export const MASTER_NAME = 'mymaster';

/**
 * A real Redis Sentinel setup on loopback ports: one master, one replica and three Sentinels (quorum 2),
 * each a redis-server process with its files in one temp folder. Sentinels are started as
 * `redis-server <conf> --sentinel`, which is what Debian's redis-sentinel binary runs.
 */
export class RedisSentinelSetup {
  private constructor(
    private readonly dir: { path: string; remove: () => void },
    /** The two data nodes; which one is master changes with each failover. */
    readonly nodes: RedisProcess[],
    readonly sentinels: RedisProcess[],
  ) {}

  /** `redis-sentinel://…/mymaster`, listing the three Sentinels. */
  get url(): string {
    const hosts = this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
    return `redis-sentinel://${hosts}/${MASTER_NAME}`;
  }

  static async start(): Promise<RedisSentinelSetup> {
    const dir = tempDir('sentinel');
    const nodes: RedisProcess[] = [];
    const sentinels: RedisProcess[] = [];
    const setup = new RedisSentinelSetup(dir, nodes, sentinels);
    try {
      const master = await startNode(dir.path, 'master', []);
      const masterPort = master.port;
      nodes.push(master);
      nodes.push(await startNode(dir.path, 'replica', ['--replicaof', '127.0.0.1', String(masterPort)]));
      for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(dir.path, i, masterPort));
      await setup.waitUntilReady(masterPort);
      return setup;
    } catch (err) {
      await setup.close();
      throw err;
    }
  }

  /** The port the Sentinels currently name as master. */
  async masterPort(): Promise<number> {
    const addr = (await this.sentinels[0]!.command(
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      MASTER_NAME,
    )) as string[];
    return Number(addr[1]);
  }

  /**
   * `SENTINEL FAILOVER`: the replica becomes master and the old master its replica. Returns once every
   * Sentinel names the new master, it answers as master, and the old one replicates from it.
   */
  async failover(): Promise<{ from: number; to: number }> {
    const from = await this.masterPort();
    const to = this.nodes.find((n) => n.port !== from)!.port;
    await this.sentinels[0]!.command('SENTINEL', 'FAILOVER', MASTER_NAME);
    await this.waitUntilReady(to, 60_000);
    return { from, to };
  }

  /** SIGKILLs the master; returns once every Sentinel names the replica, promoted, as master. */
  async killMaster(): Promise<{ from: number; to: number }> {
    const from = await this.masterPort();
    await this.nodeAt(from).kill();
    const promoted = this.nodes.find((n) => n.port !== from)!;
    await waitFor(
      `Sentinels promote 127.0.0.1:${promoted.port} after the master was killed`,
      async () => {
        for (const s of this.sentinels) {
          if ((await this.masterPortOf(s)) !== promoted.port) return false;
        }
        return ((await promoted.command('ROLE')) as unknown[])[0] === 'master';
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    return { from, to: promoted.port };
  }

  /** The data node listening on `port`. */
  nodeAt(port: number): RedisProcess {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no Redis node of this setup listens on ${port}`);
    return node;
  }

  /** The master port one Sentinel names. */
  async masterPortOf(s: RedisProcess): Promise<number> {
    const addr = (await s.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[];
    return Number(addr[1]);
  }

  /** Waits until the master is `masterPort` for all three Sentinels and its replica is in sync. */
  private async waitUntilReady(masterPort: number, timeoutMs = 30_000): Promise<void> {
    const master = this.nodes.find((n) => n.port === masterPort)!;
    const replica = this.nodes.find((n) => n.port !== masterPort)!;
    await waitFor(
      `Sentinels agree that 127.0.0.1:${masterPort} is master, with its replica and each other known`,
      async () => {
        for (const s of this.sentinels) {
          const addr = (await s.command('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[];
          if (Number(addr[1]) !== masterPort) return false;
          const replicas = (await s.command('SENTINEL', 'REPLICAS', MASTER_NAME)) as string[][];
          const known = replicas.some((r) => fieldOf(r, 'port') === String(replica.port));
          const others = (await s.command('SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[];
          if (!known || others.length < 2) return false;
        }
        const role = (await master.command('ROLE')) as unknown[];
        const info = String(await replica.command('INFO', 'replication'));
        return (
          role[0] === 'master' &&
          info.includes(`master_port:${masterPort}`) &&
          info.includes('master_link_status:up')
        );
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /** Kills every process by its PID and removes the folder. */
  async close(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.nodes].map((p) => p.kill()));
    this.dir.remove();
  }
}

function fieldOf(flat: string[], name: string): string | undefined {
  const i = flat.indexOf(name);
  return i >= 0 && i % 2 === 0 ? flat[i + 1] : undefined;
}

async function startNode(dir: string, role: string, extra: string[]): Promise<RedisProcess> {
  return RedisProcess.startOnFreePort(`redis ${role}`, (port) => {
    const nodeDir = join(dir, `${role}-${port}`);
    mkdirSync(nodeDir, { recursive: true });
    return [...dataNodeArgs(port, nodeDir), ...extra];
  });
}

async function startSentinel(dir: string, index: number, masterPort: number): Promise<RedisProcess> {
  return RedisProcess.startOnFreePort(`redis sentinel ${index}`, (port) => {
    const conf = join(dir, `sentinel-${index}-${port}.conf`);
    // Sentinel rewrites its config file as it learns the topology, so each gets its own writable copy.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 2000`,
        `sentinel failover-timeout ${MASTER_NAME} 10000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        '',
      ].join('\n'),
    );
    return [conf, '--sentinel'];
  });
}
