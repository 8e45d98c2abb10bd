import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { callbackTokenKey } from '../../src/intake/callback-token.js';
import { createTenant, startKillBill, type KillBillTenant } from '../support/killbill-server.js';
import { RedisServer } from '../support/redis-server.js';

const BRIDGE = fileURLToPath(new URL('../../bin/bridge.js', import.meta.url));
const FILE = 'test/fixtures/config/concertim-config.yaml';

/** The real CLI with only the concertim file (and, where said, where Redis and Kill Bill run here). */
function bridge(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BRIDGE, ...args, '--config', FILE],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("an operator's concertim-openstack-service config.yaml, as it is (no callback token)", function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let tenant: KillBillTenant;
  /** What differs from the file where the bridge reaches the real Kill Bill. */
  let killBill: Record<string, string>;

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    redis = await RedisServer.start();
    await startKillBill();
    // On a tenant with no catalog at all, Kill Bill 0.22 answers the catalog read with a 500 ("No existing
    // versions in the VersionedCatalog"), which `setup` reports as a failed step; the server's default
    // catalog (not the bridge's) leaves the catalog step what it was: an upload still to be made.
    tenant = await createTenant({ useGlobalDefault: true });
    killBill = {
      KILLBILL_URL: tenant.url,
      // The file's user is the server's (admin), but the server shared by the run has killbill.sh's
      // password, not the file's; and its tenants are made fresh per suite (an API key is unique per
      // server), so the file's bob / lazar-secret stands in only where Kill Bill is not asked.
      KILLBILL_PASSWORD: tenant.password,
      KILLBILL_API_KEY: tenant.apiKey,
      KILLBILL_API_SECRET: tenant.apiSecret,
    };
  });
  after(async () => {
    await redis?.close();
  });

  it('passes `config check`', async () => {
    const run = await bridge(['config', 'check']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('server.callbackToken = ""');
  });

  it('runs `registry show`', async () => {
    const run = await bridge(['registry', 'show'], { REDIS_URL: redis.url });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('tenant bob: never reconciled');
  });

  it('runs `setup --dry-run`, which says a token will be made and makes none', async () => {
    const run = await bridge(['setup', '--dry-run'], { REDIS_URL: redis.url, ...killBill });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.match(/callback: .*with a new token kept in Redis/);
    const store = redis.client();
    try {
      expect(await store.exists(callbackTokenKey('osb', tenant.apiKey))).to.equal(0);
    } finally {
      store.disconnect();
    }
  });

  it('runs `callback status`', async () => {
    const run = await bridge(['callback', 'status'], { REDIS_URL: redis.url, ...killBill });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include(`${tenant.apiKey}: (none registered)`);
    expect(run.stdout).to.include('expected: no token yet');
  });
});
