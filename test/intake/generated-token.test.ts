import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import request from 'supertest';
import { CallbackTokens, callbackTokenKey } from '../../src/intake/callback-token.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { startKillBillStandin, type KillBillStandin } from '../killbill-standin/index.js';
import { killBillApi } from '../setup/setup-harness.js';
import { RedisServer } from '../support/redis-server.js';
import { freePort, waitFor } from '../support/wait.js';

const BRIDGE = fileURLToPath(new URL('../../bin/bridge.js', import.meta.url));

/** `bridge api` as an operator starts it, with no callback token configured. */
class BridgeProcess {
  output = '';
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** The bridge's environment, for CLI commands run next to it. */
    readonly env: Record<string, string>,
  ) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(base: Record<string, string>, port?: number): Promise<BridgeProcess> {
    const at = port ?? (await freePort());
    const env = { ...base, PORT: String(at), BRIDGE_PUBLIC_URL: `http://127.0.0.1:${at}` };
    const child = spawn(process.execPath, [BRIDGE, 'api'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new BridgeProcess(child, at, env);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

function bridgeCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BRIDGE, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const creation = (accountId: string) => ({
  eventType: 'ACCOUNT_CREATION',
  accountId,
  objectType: 'ACCOUNT',
  objectId: accountId,
  metaData: null,
});

describe('callback token made by the bridge when none is configured (real processes)', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let kb: KillBillStandin;
  let bridge: BridgeProcess;
  let queue: Queue;
  let env: Record<string, string>;

  before(async () => {
    redis = await RedisServer.start();
    kb = await startKillBillStandin({ retrySchedule: [200, 200, 200] });
    kb.createTenant('bob', 'lazar');
    kb.createTenant('acme', 'acme-secret');
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL: redis.url,
      KILLBILL_URL: kb.url,
      KILLBILL_API_KEY: 'bob',
      KILLBILL_API_SECRET: 'lazar',
      KILLBILL_EXTRA_TENANTS: '[{"apiKey":"acme","apiSecret":"acme-secret"}]',
      LOG_LEVEL: 'debug',
    };
    bridge = await BridgeProcess.start(env);
    queue = new Queue(REGISTRY_QUEUE, { connection: { url: redis.url }, prefix: 'osb' });
  });
  after(async () => {
    await bridge?.stop();
    await queue?.close();
    await kb?.close();
    await redis?.close();
  });

  /** The callback URL Kill Bill holds for a tenant, once the bridge has registered it. */
  const registered = (apiKey: string, secret: string) =>
    waitFor(`the bridge registered the callback of ${apiKey}`, async () => {
      const res = await killBillApi(kb.url).get('/tenants/registerNotificationCallback', {
        headers: { 'X-Killbill-ApiKey': apiKey, 'X-Killbill-ApiSecret': secret },
      });
      return res.status === 200 ? (res.data as { values?: string[] }).values?.[0] : undefined;
    });

  it('registers a strong token per tenant, kept in Redis, and Kill Bill’s delivery with it is queued', async () => {
    const bobUrl = new URL(await registered('bob', 'lazar'));
    const acmeUrl = new URL(await registered('acme', 'acme-secret'));
    const bobToken = bobUrl.searchParams.get('token')!;
    const acmeToken = acmeUrl.searchParams.get('token')!;
    expect(bobToken).to.match(/^[0-9a-f]{48}$/);
    expect(acmeToken)
      .to.match(/^[0-9a-f]{48}$/)
      .and.not.equal(bobToken);
    const store = redis.client();
    try {
      expect(await store.get(callbackTokenKey('osb', 'bob'))).to.equal(bobToken);
      expect(await store.get(callbackTokenKey('osb', 'acme'))).to.equal(acmeToken);
    } finally {
      store.disconnect();
    }

    // Kill Bill (the stand-in) calls the URL it holds when an account is created.
    const created = await killBillApi(kb.url).post(
      '/accounts',
      { name: 'Token test', externalKey: 'token-test', currency: 'USD' },
      { headers: { 'Content-Type': 'application/json' } },
    );
    const accountId = String(created.headers.location).split('/').pop()!;
    await waitFor('the notification is queued', async () =>
      (await queue.getJobs(['waiting', 'active', 'completed'])).some((j) => j.data.accountId === accountId),
    );
    expect(bridge.output).not.to.include(bobToken);
    expect(bridge.output).not.to.include(acmeToken);
  });

  it('accepts each tenant’s own token and answers 401 to a wrong one, or another tenant’s', async () => {
    const bobToken = new URL(await registered('bob', 'lazar')).searchParams.get('token')!;
    const acmeToken = new URL(await registered('acme', 'acme-secret')).searchParams.get('token')!;
    const post = (path: string) => request(bridge.url).post(path).send(creation(randomUUID()));
    await post(`/killbill/notifications?token=${bobToken}`).expect(200);
    await post(`/killbill/notifications/acme?token=${acmeToken}`).expect(200);
    const wrong = await post(`/killbill/notifications?token=${'0'.repeat(48)}`).expect(401);
    expect(wrong.body).to.deep.equal({ error: 'missing or wrong callback token' });
    await post('/killbill/notifications').expect(401);
    await post(`/killbill/notifications?token=${acmeToken}`).expect(401);
    await post(`/killbill/notifications/acme?token=${bobToken}`).expect(401);
  });

  it('keeps the same token when the bridge restarts', async () => {
    const before = await registered('bob', 'lazar');
    await bridge.stop();
    bridge = await BridgeProcess.start(env, bridge.port);
    await waitFor('the restarted bridge finds its callback registered', () =>
      bridge.output.includes('callback already registered'),
    );
    expect(await registered('bob', 'lazar')).to.equal(before);
  });

  it('`bridge callback status` shows the tokens by their first characters only', async () => {
    const bobToken = new URL(await registered('bob', 'lazar')).searchParams.get('token')!;
    const run = await bridgeCli(['callback', 'status'], bridge.env);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include(`?token=${bobToken.slice(0, 4)}…`);
    expect(run.stdout).to.match(/token made by the bridge, kept in Redis\) ✓ Kill Bill holds it/);
    expect(run.stdout).not.to.include(bobToken);
  });

  it('processes starting together agree on one token', async () => {
    const connections = [redis.client(), redis.client(), redis.client()];
    try {
      const tokens = await Promise.all(
        connections.map((c) =>
          new CallbackTokens({
            configured: '',
            prefix: 'race',
            redis: () => Promise.resolve(c),
          }).forRegistration('new-tenant'),
        ),
      );
      expect(new Set(tokens).size).to.equal(1);
    } finally {
      for (const c of connections) c.disconnect();
    }
  });
});
