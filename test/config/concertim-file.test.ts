import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { callbackTokenKey } from '../../src/intake/callback-token.js';
import { startKillBillStandin, type KillBillStandin } from '../killbill-standin/index.js';
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
  let kb: KillBillStandin;

  before(async () => {
    redis = await RedisServer.start();
    // The file's own Kill Bill user and tenant; only where Kill Bill runs differs here.
    kb = await startKillBillStandin({ password: 'kb-secret-pw', retrySchedule: [] });
    kb.createTenant('bob', 'lazar-secret');
  });
  after(async () => {
    await kb?.close();
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
    const run = await bridge(['setup', '--dry-run'], { REDIS_URL: redis.url, KILLBILL_URL: kb.url });
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.match(/callback: .*with a new token kept in Redis/);
    const store = redis.client();
    try {
      expect(await store.exists(callbackTokenKey('osb', 'bob'))).to.equal(0);
    } finally {
      store.disconnect();
    }
  });

  it('runs `callback status`', async () => {
    const run = await bridge(['callback', 'status'], { REDIS_URL: redis.url, KILLBILL_URL: kb.url });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('bob: (none registered)');
    expect(run.stdout).to.include('expected: no token yet');
  });
});
