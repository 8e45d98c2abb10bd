import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { dataNodeArgs, RedisExitedError, RedisProcess, tempDir } from '../support/redis-processes.js';
import { freePort } from '../support/wait.js';

/**
 * The harness every Redis topology test starts its servers with. A port can be taken between the moment
 * it was found free and redis-server's bind; that once cost a CI run 15 s and a failed cluster test.
 */
describe('the redis-server harness: a server that cannot start says why at once, and a taken port is retried', function () {
  this.timeout(60_000);
  const dir = tempDir('processes');
  const started: RedisProcess[] = [];
  let holder: Server | undefined;

  after(async () => {
    await Promise.all(started.map((p) => p.kill()));
    holder?.close();
    dir.remove();
  });

  async function holdPort(): Promise<number> {
    const port = await freePort();
    holder = createServer();
    await new Promise<void>((resolve) => holder!.listen(port, '127.0.0.1', resolve));
    return port;
  }

  it('a port already taken: RedisExitedError with redis-server’s own reason, well before the PING timeout', async () => {
    const port = await holdPort();
    const began = Date.now();
    const failed = await RedisProcess.start(port, 'redis on a taken port', dataNodeArgs(port, dir.path)).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).to.be.instanceOf(RedisExitedError);
    expect((failed as Error).message).to.match(/Address already in use/);
    expect(Date.now() - began).to.be.below(15_000);
  });

  it('startOnFreePort starts again on another port when the first is taken before redis binds it', async () => {
    const taken = await holdPort();
    const ports: number[] = [];
    const node = await RedisProcess.startOnFreePort('redis retried', (port) => {
      const chosen = ports.length === 0 ? taken : port;
      ports.push(chosen);
      return dataNodeArgs(chosen, dir.path);
    });
    started.push(node);
    expect(ports).to.have.length(2);
    expect(ports[0]).to.equal(taken);
    expect(await node.command('PING')).to.equal('PONG');
  });

  it('a cluster node on a port above 55,535 starts when its bus port is given (port + 10,000 would pass 65,535)', async () => {
    const high = await (async () => {
      for (let port = 60_999; port > 55_535; port--) {
        if (await portIsFree(port)) return port;
      }
      throw new Error('no free port above 55,535');
    })();
    const clusterArgs = (bus: string[]) => [
      ...dataNodeArgs(high, dir.path),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `${dir.path}/nodes-${high}-${bus.length}.conf`,
      ...bus,
    ];
    const refused = await RedisProcess.start(high, 'cluster node, default bus port', clusterArgs([])).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((refused as Error).message).to.match(/port number too high/);
    const node = await RedisProcess.start(
      high,
      'cluster node, own bus port',
      clusterArgs(['--cluster-port', String(await freePort())]),
    );
    started.push(node);
    expect(String(await node.command('CLUSTER', 'INFO'))).to.match(/cluster_enabled:1|cluster_state/);
  });
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
