import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dataNodeArgs, RedisProcess, tempDir } from './redis-processes.js';
import { freePort, waitFor } from './wait.js';

/**
 * A real Redis Cluster of three masters (no replicas) on loopback ports, made with
 * `redis-cli --cluster create`, its nodes' files in one temp folder.
 */
export class RedisClusterSetup {
  private constructor(
    private readonly dir: { path: string; remove: () => void },
    readonly nodes: RedisProcess[],
  ) {}

  /** `redis-cluster://…` listing every node (one would do: the client learns the rest). */
  get url(): string {
    return `redis-cluster://${this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`;
  }

  static async start(size = 3): Promise<RedisClusterSetup> {
    const dir = tempDir('cluster');
    const setup = new RedisClusterSetup(dir, []);
    try {
      for (let i = 0; i < size; i++) {
        setup.nodes.push(
          await RedisProcess.startOnFreePort(`redis cluster node ${i}`, async (port) => {
            const nodeDir = join(dir.path, `node-${port}`);
            mkdirSync(nodeDir, { recursive: true });
            return [
              ...dataNodeArgs(port, nodeDir),
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              join(nodeDir, 'nodes.conf'),
              // The default bus port, port + 10,000, may be taken or past 65,535 (ports above 55,535).
              '--cluster-port',
              String(await freePort()),
              '--cluster-node-timeout',
              '3000',
            ];
          }),
        );
      }
      await redisCli([
        '--cluster',
        'create',
        ...setup.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      await waitFor(
        'every cluster node reports cluster_state:ok and knows all nodes',
        async () => {
          for (const n of setup.nodes) {
            const info = String(await n.command('CLUSTER', 'INFO'));
            if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${size}`))
              return false;
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      return setup;
    } catch (err) {
      await setup.close();
      throw err;
    }
  }

  /** The node that serves the slot of `key`. */
  async nodeOf(key: string): Promise<RedisProcess> {
    const slot = Number(await this.nodes[0]!.command('CLUSTER', 'KEYSLOT', key));
    const shards = (await this.nodes[0]!.command('CLUSTER', 'SLOTS')) as Array<
      [number, number, [string, number]]
    >;
    const shard = shards.find(([from, to]) => slot >= from && slot <= to);
    const node = this.nodes.find((n) => n.port === Number(shard?.[2][1]));
    if (!node) throw new Error(`no node serves slot ${slot}`);
    return node;
  }

  /** Every key of every node, by node port. */
  async keysByNode(): Promise<Map<number, string[]>> {
    const all = new Map<number, string[]>();
    for (const n of this.nodes) all.set(n.port, ((await n.command('KEYS', '*')) as string[]).sort());
    return all;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    this.dir.remove();
  }
}

function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.slice(0, 2).join(' ')} failed: ${stderr || stdout}`));
      else resolve(stdout);
    });
  });
}
