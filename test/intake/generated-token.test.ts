import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import request from 'supertest';
import { CallbackTokens, callbackTokenKey } from '../../src/intake/callback-token.js';
import { REGISTRY_QUEUE } from '../../src/jobs/queue-names.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  createTenant,
  startKillBill,
  tenantHeaders,
  type KillBillTenant,
} from '../support/killbill-server.js';
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

  /** `base` sets BRIDGE_PUBLIC_URL: the proxy in front of `port`, which Kill Bill calls. */
  static async start(base: Record<string, string>, port: number): Promise<BridgeProcess> {
    const env = { ...base, PORT: String(port) };
    const child = spawn(process.execPath, [BRIDGE, 'api'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new BridgeProcess(child, port, env);
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

describe('callback token made by the bridge when none is configured (real processes, real Kill Bill)', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let bob: KillBillTenant;
  let acme: KillBillTenant;
  /** In front of the bridge: what Kill Bill pushes, seen on its way in. */
  let intake: FaultProxy;
  let bridge: BridgeProcess;
  let queue: Queue;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    redis = await RedisServer.start();
    await startKillBill();
    // Fresh tenants: the server is shared by the run, and a restarted bridge must find its own callback.
    [bob, acme] = await Promise.all([createTenant(), createTenant()]);
    const port = await freePort();
    intake = await FaultProxy.start(`http://127.0.0.1:${port}`);
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL: redis.url,
      KILLBILL_URL: bob.url,
      KILLBILL_USERNAME: bob.username,
      KILLBILL_PASSWORD: bob.password,
      KILLBILL_API_KEY: bob.apiKey,
      KILLBILL_API_SECRET: bob.apiSecret,
      KILLBILL_EXTRA_TENANTS: JSON.stringify([{ apiKey: acme.apiKey, apiSecret: acme.apiSecret }]),
      BRIDGE_PUBLIC_URL: intake.url,
      LOG_LEVEL: 'debug',
    };
    bridge = await BridgeProcess.start(env, port);
    queue = new Queue(REGISTRY_QUEUE, { connection: { url: redis.url }, prefix: 'osb' });
  });
  after(async () => {
    // The server outlives this suite: it is told to stop pushing to callbacks that go away.
    for (const tenant of [bob, acme].filter(Boolean)) {
      await fetch(`${tenant.url}/1.0/kb/tenants/registerNotificationCallback`, {
        method: 'DELETE',
        headers: tenantHeaders(tenant),
      }).catch(() => undefined);
    }
    await bridge?.stop();
    await intake?.close();
    await queue?.close();
    await redis?.close();
  });

  /** The callback URL Kill Bill holds for a tenant, once the bridge has registered it. */
  const registered = (tenant: KillBillTenant) =>
    waitFor(
      `the bridge registered the callback of ${tenant.apiKey}`,
      async () => {
        const res = await fetch(`${tenant.url}/1.0/kb/tenants/registerNotificationCallback`, {
          headers: tenantHeaders(tenant),
        });
        if (res.status !== 200) return undefined;
        return ((await res.json()) as { values?: string[] }).values?.[0];
      },
      { timeoutMs: 30_000 },
    );
  const tokenOf = async (tenant: KillBillTenant) =>
    new URL(await registered(tenant)).searchParams.get('token')!;

  it('registers a strong token per tenant, kept in Redis, and Kill Bill’s delivery with it is queued', async () => {
    const bobToken = await tokenOf(bob);
    const acmeToken = await tokenOf(acme);
    expect(bobToken).to.match(/^[0-9a-f]{48}$/);
    expect(acmeToken)
      .to.match(/^[0-9a-f]{48}$/)
      .and.not.equal(bobToken);
    const store = redis.client();
    try {
      expect(await store.get(callbackTokenKey('osb', bob.apiKey))).to.equal(bobToken);
      expect(await store.get(callbackTokenKey('osb', acme.apiKey))).to.equal(acmeToken);
    } finally {
      store.disconnect();
    }

    // Kill Bill calls the URL it holds when an account is created.
    const created = await fetch(`${bob.url}/1.0/kb/accounts`, {
      method: 'POST',
      headers: { ...tenantHeaders(bob), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Token test', externalKey: `token-${randomUUID()}`, currency: 'USD' }),
    });
    expect(created.status).to.equal(201);
    const accountId = String(created.headers.get('location')).split('/').pop()!;
    await waitFor(
      'the notification is queued',
      async () =>
        (await queue.getJobs(['waiting', 'active', 'completed'])).some((j) => j.data.accountId === accountId),
      { timeoutMs: 30_000 },
    );
    const delivered = intake
      .seen({ method: 'POST', path: '/killbill/notifications?' })
      .filter((r) => r.body.includes(accountId));
    expect(delivered.map((r) => [r.path, r.outcome])).to.deep.include([
      `/killbill/notifications?token=${bobToken}`,
      200,
    ]);
    expect(bridge.output).not.to.include(bobToken);
    expect(bridge.output).not.to.include(acmeToken);
  });

  it('accepts each tenant’s own token and answers 401 to a wrong one, or another tenant’s', async () => {
    const bobToken = await tokenOf(bob);
    const acmeToken = await tokenOf(acme);
    const post = (path: string) => request(bridge.url).post(path).send(creation(randomUUID()));
    await post(`/killbill/notifications?token=${bobToken}`).expect(200);
    await post(`/killbill/notifications/${acme.apiKey}?token=${acmeToken}`).expect(200);
    const wrong = await post(`/killbill/notifications?token=${'0'.repeat(48)}`).expect(401);
    expect(wrong.body).to.deep.equal({ error: 'missing or wrong callback token' });
    await post('/killbill/notifications').expect(401);
    await post(`/killbill/notifications?token=${acmeToken}`).expect(401);
    await post(`/killbill/notifications/${acme.apiKey}?token=${bobToken}`).expect(401);
  });

  it('keeps the same token when the bridge restarts', async () => {
    const before = await registered(bob);
    await bridge.stop();
    bridge = await BridgeProcess.start(env, bridge.port);
    await waitFor('the restarted bridge finds its callback registered', () =>
      bridge.output.includes('callback already registered'),
    );
    expect(await registered(bob)).to.equal(before);
  });

  it('`bridge callback status` shows the tokens by their first characters only', async () => {
    const bobToken = await tokenOf(bob);
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
