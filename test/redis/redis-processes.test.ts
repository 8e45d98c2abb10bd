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
  const holders: Server[] = [];

  after(async () => {
    await Promise.all(started.map((p) => p.kill()));
    // Not awaited: close() waits until every connection the PING checks opened is gone.
    for (const h of holders) h.close();
    dir.remove();
  });

  /** Starts a process expected to fail; one that starts anyway is still stopped after the tests. */
  async function failedStart(port: number, label: string, args: string[]): Promise<unknown> {
    return RedisProcess.start(port, label, args).then(
      (p) => started.push(p) && undefined,
      (err: unknown) => err,
    );
  }

  async function holdPort(): Promise<number> {
    const port = await freePort();
    const holder = createServer();
    holders.push(holder);
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    return port;
  }

  it('a port already taken: RedisExitedError with redis-server’s own reason, not the PING timeout', async () => {
    const port = await holdPort();
    // Not the wait's "timed out" error: the exit is what ended the wait.
    const failed = await failedStart(port, 'redis on a taken port', dataNodeArgs(port, dir.path));
    expect(failed).to.be.instanceOf(RedisExitedError);
    expect((failed as Error).message).to.match(/Address already in use/);
  });

  it('a port another Redis holds: this process exits, and the other one’s PONG is not taken for it', async () => {
    const other = await RedisProcess.startOnFreePort('the other redis', (port) =>
      dataNodeArgs(port, dir.path),
    );
    started.push(other);
    const failed = await failedStart(
      other.port,
      'redis on the other’s port',
      dataNodeArgs(other.port, dir.path),
    );
    expect(failed).to.be.instanceOf(RedisExitedError);
    expect((failed as Error).message).to.match(/Address already in use/);
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
    // Above the kernel's ephemeral range (up to 60,999 here), so no outgoing connection takes it meanwhile.
    let high = 0;
    for (let port = 65_535; port > 61_000 && !high; port--) if (await portIsFree(port)) high = port;
    expect(high, 'a free port above 61,000').to.be.above(0);
    const clusterArgs = (bus: string[]) => [
      ...dataNodeArgs(high, dir.path),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `${dir.path}/nodes-${high}-${bus.length}.conf`,
      ...bus,
    ];
    const refused = await failedStart(high, 'cluster node, default bus port', clusterArgs([]));
    expect((refused as Error).message).to.match(/port number too high/);
    const busPort = await freePort();
    const node = await RedisProcess.start(
      high,
      'cluster node, own bus port',
      clusterArgs(['--cluster-port', String(busPort)]),
    );
    started.push(node);
    expect(String(await node.command('CLUSTER', 'INFO'))).to.match(/cluster_state:/);
  });
});

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
