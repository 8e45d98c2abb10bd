import { expect } from 'chai';
import { readyz, RunningBridge } from '../support/bridge-cli.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  createTenant,
  startKillBill,
  tenantHeaders,
  type KillBillTenant,
} from '../support/killbill-server.js';
import { RedisServer } from '../support/redis-server.js';
import { freePort, waitFor } from '../support/wait.js';
import { seededCloudKittyEnv } from '../support/cloudkitty.js';

const PASSWORD = 'hunter2hunter2';

/**
 * `bridge start` started while Redis, Kill Bill and CloudKitty are all down, then given them back: each
 * outage is said once, naming the service and its URL (no password), and once more when it is over.
 */
describe('bridge start (the real CLI) with its services down, then back', function () {
  this.timeout(180_000);
  let redis: RedisServer;
  let tenant: KillBillTenant;
  /**
   * Where the bridge reaches Kill Bill: the real server is shared by the run and takes half a minute to
   * start, so it is not the one that comes up late. A proxy in front of it is, at the port the bridge was
   * given: refused connections until it listens, then the real server's answers.
   */
  let killbill: FaultProxy | undefined;
  let bridge: RunningBridge | undefined;

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    redis = await RedisServer.start({ password: PASSWORD });
    await redis.stop();
    await startKillBill();
    tenant = await createTenant();
  });
  after(async () => {
    await bridge?.stop();
    // The server outlives this suite: it is told to stop pushing to a callback that went away.
    if (tenant) {
      await fetch(`${tenant.url}/1.0/kb/tenants/registerNotificationCallback`, {
        method: 'DELETE',
        headers: tenantHeaders(tenant),
      }).catch(() => undefined);
    }
    await killbill?.close();
    await redis?.close();
  });

  it('says once which service is unreachable and when it is back; /readyz names what is down', async () => {
    const [apiPort, kbPort, ckPort] = [await freePort(), await freePort(), await freePort()];
    const kbUrl = `http://127.0.0.1:${kbPort}`;
    const ckUrl = `http://127.0.0.1:${ckPort}`;
    const shownRedis = `redis://:\\*\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}`;
    bridge = RunningBridge.start(['start'], {
      REDIS_URL: redis.url,
      KILLBILL_URL: kbUrl,
      KILLBILL_USERNAME: tenant.username,
      KILLBILL_PASSWORD: tenant.password,
      KILLBILL_API_KEY: tenant.apiKey,
      KILLBILL_API_SECRET: tenant.apiSecret,
      ...seededCloudKittyEnv(ckUrl),
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
      PORT: String(apiPort),
      BRIDGE_PUBLIC_URL: `http://127.0.0.1:${apiPort}`,
    });

    await bridge.waitUntilSaid(
      'Redis is said to be down',
      new RegExp(`^Redis at ${shownRedis} is unreachable \\(connect ECONNREFUSED\\); retrying every 5s$`),
    );
    await bridge.waitUntilSaid(
      'Kill Bill is said to be down',
      new RegExp(`^Kill Bill at ${kbUrl} is unreachable \\(ECONNREFUSED\\); `),
    );
    const down = await readyz(apiPort);
    expect(down.status).to.equal(503);
    expect(down.body.down).to.deep.equal(['redis', 'killbill callback']);
    expect(down.body.checks.redis).to.match(new RegExp(`^Redis at ${shownRedis} is unreachable`));
    expect(down.body.checks['killbill callback']).to.equal(
      `not registered for tenant(s) ${tenant.apiKey}: Kill Bill at ${kbUrl} is unreachable (ECONNREFUSED)`,
    );

    // Several reconnects and callback retries later, still one line each and nothing per attempt.
    await new Promise((r) => setTimeout(r, 7_000));
    expect(bridge.said(/^Redis at .* is unreachable/)).to.have.length(1);
    expect(bridge.said(/^Kill Bill at .* is unreachable/)).to.have.length(1);
    expect(bridge.said(/worker error|could not register the callback/)).to.deep.equal([]);

    await redis.resume();
    await bridge.waitUntilSaid(
      'Redis is said to be back',
      new RegExp(`^Redis at ${shownRedis} is reachable again \\(was unreachable for \\d+s\\)$`),
    );
    // With Redis back the usage sync runs, and finds CloudKitty down.
    await bridge.waitUntilSaid(
      'CloudKitty is said to be down',
      new RegExp(`^CloudKitty at ${ckUrl} is unreachable \\(ECONNREFUSED\\); `),
    );

    killbill = await FaultProxy.start(tenant.url, kbPort);
    await bridge.waitUntilSaid(
      'Kill Bill is said to be back',
      new RegExp(`^Kill Bill at ${kbUrl} is reachable again`),
      60_000,
    );
    const ready = await waitFor(
      '/readyz answers 200',
      async () => {
        const r = await readyz(apiPort);
        return r.status === 200 ? r : null;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(ready.body).to.deep.equal({
      ready: true,
      down: [],
      checks: { redis: 'ok', 'killbill callback': 'ok' },
    });

    expect(bridge.said(/^Redis at .* is unreachable/)).to.have.length(1);
    expect(bridge.said(/^CloudKitty at .* is unreachable/)).to.have.length(1);
    // Logs are on stderr; stdout is left to command output, of which a service has none.
    expect(bridge.stdout).to.equal('');
    expect(bridge.stderr).not.to.include(PASSWORD);
    expect(await bridge.stop()).to.equal(0);
    bridge = undefined;
  });
});
