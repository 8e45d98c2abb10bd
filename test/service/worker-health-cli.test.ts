import { expect } from 'chai';
import { readyz, RunningBridge } from '../support/bridge-cli.js';
import { freePort, waitFor } from '../support/wait.js';
import { WorkerStack } from '../support/worker-stack.js';

/** `bridge worker` (the real CLI) has no API: its own port says whether it is alive and what is down. */
describe('bridge worker health port (the real CLI)', function () {
  this.timeout(10 * 60_000);
  let stack: WorkerStack;
  let bridge: RunningBridge | undefined;

  before(async () => {
    stack = await WorkerStack.start();
  });
  after(async () => {
    await bridge?.stop();
    await stack?.close();
  });

  it('answers /readyz 200, then 503 naming redis while Redis is stopped, then 200 again', async () => {
    const port = await freePort();
    bridge = RunningBridge.start(['worker'], stack.env({ BRIDGE_WORKER_HEALTH_PORT: String(port) }));
    await bridge.waitUntilSaid('the health port listens', new RegExp(`^worker health on port ${port} `));
    const ready = await waitFor('/readyz answers 200', async () => {
      const r = await readyz(port);
      return r.status === 200 ? r : null;
    });
    expect(ready.body).to.deep.equal({
      ready: true,
      down: [],
      checks: { redis: 'ok', killbill: 'ok', cloudkitty: 'ok' },
    });
    const alive = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect([alive.status, await alive.json()]).to.deep.equal([200, { status: 'alive' }]);

    await stack.redis.stop();
    const down = await waitFor(
      '/readyz answers 503',
      async () => {
        const r = await readyz(port);
        return r.status === 503 ? r : null;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(down.body.ready).to.equal(false);
    expect(down.body.down).to.deep.equal(['redis']);
    expect(down.body.checks.redis).to.match(
      new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${stack.redis.port} is unreachable \\(`),
    );
    expect(down.body.checks.killbill).to.equal('ok');
    // Alive all the same: a restart would not bring Redis back.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).to.equal(200);

    await stack.redis.resume();
    const back = await waitFor(
      '/readyz answers 200 again',
      async () => {
        const r = await readyz(port);
        return r.status === 200 ? r : null;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(back.body.down).to.deep.equal([]);
    expect((await fetch(`http://127.0.0.1:${port}/nothing`)).status).to.equal(404);

    expect(await bridge.stop()).to.equal(0);
    expect(bridge.said(/^stopped$/)).to.have.length(1);
    bridge = undefined;
  });
});
