import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { KillBillClient, type SubscriptionUsageRecord } from '../../src/clients/killbill/killbill-client.js';
import { proxiedFromEnv } from '../../src/clients/killbill/usage-post.js';
import { KillBillError } from '../../src/errors/index.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../support/wait.js';
import { dayOf, HOUR, killBillForBridge, MeteredTenant, newProjectId } from '../support/metered-tenant.js';

const USAGE_POSTS = { method: 'POST', path: '/1.0/kb/usages' };
const PROXY_ENV = ['HTTP_PROXY', 'NO_PROXY'] as const;

/** What a caller acts on in a failure: the same whichever way the record went. */
function failureOf(err: unknown) {
  expect(err).to.be.instanceOf(KillBillError);
  const { message, status, code, retryable, noAnswer } = err as KillBillError;
  return { message, status, code, retryable, noAnswer };
}

/**
 * A usage record goes out on Node's own HTTP client (the hot path of a sync), unless a proxy in the
 * environment must carry it; the other way is the generated client on axios. Both against the REAL Kill Bill,
 * through a fault proxy: every outcome (taken, already taken, refused, failing, hung, down) must read the same.
 */
describe('Kill Bill client: recording usage on Node’s own HTTP client (real Kill Bill)', function () {
  this.timeout(120_000);
  let proxy: FaultProxy;
  let tenant: MeteredTenant;
  let subscriptionId: string;
  const saved = new Map<string, string | undefined>();
  const day = dayOf(Date.now() - 24 * HOUR);

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    proxy = await killBillForBridge();
    tenant = await MeteredTenant.create();
    ({ subscriptionId } = await tenant.meteredAccount(
      'usage-post',
      newProjectId(),
      dayOf(Date.now() - 3 * 24 * HOUR),
    ));
  });

  after(async () => {
    await proxy?.close();
  });

  afterEach(() => {
    proxy.heal();
    for (const [k, v] of saved) v === undefined ? delete process.env[k] : (process.env[k] = v);
    saved.clear();
  });

  const record = (trackingId: string, of = subscriptionId): SubscriptionUsageRecord => ({
    subscriptionId: of,
    trackingId,
    unitUsageRecords: [
      {
        unitType: 'openstack-billed-instance',
        usageRecords: [{ recordDate: `${day}T10:00:00.000Z`, amount: 3 }],
      },
    ],
  });

  /** Both ways: Node's own (no proxy in the environment), and the generated client (one named, bypassed for loopback). */
  function clients(timeoutMs?: number): { bare: KillBillClient; generated: KillBillClient } {
    const make = () =>
      new KillBillClient({ ...tenant.tenant, url: proxy.url, createdBy: 'usage-post-test', timeoutMs });
    for (const k of PROXY_ENV) if (!saved.has(k)) saved.set(k, process.env[k]);
    for (const k of PROXY_ENV) delete process.env[k];
    const bare = make();
    // axios honours NO_PROXY; the bridge only looks for a proxy at all, so this client keeps axios.
    Object.assign(process.env, { HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1' });
    return { bare, generated: make() };
  }

  it('sends the same authenticated request, and reads taken and already taken the same', async () => {
    const { bare, generated } = clients();
    const ids = [`usage-post-${randomUUID()}`, `usage-post-${randomUUID()}`];
    const before = proxy.seen(USAGE_POSTS).length;
    expect(await bare.recordUsage(record(ids[0]!))).to.equal('recorded');
    expect(await generated.recordUsage(record(ids[1]!))).to.equal('recorded');
    expect(await bare.recordUsage(record(ids[1]!))).to.equal('already-recorded');
    expect(await generated.recordUsage(record(ids[0]!))).to.equal('already-recorded');

    const sent = proxy.seen(USAGE_POSTS).slice(before);
    expect(sent.map((r) => r.outcome)).to.deep.equal([201, 201, 400, 400]);
    // Which client sent each: axios names itself, Node's own client sends no user agent.
    expect(sent.map((r) => /^axios\//.test(r.headers['user-agent'] ?? ''))).to.deep.equal([
      false,
      true,
      false,
      true,
    ]);
    const auth = (i: number) => {
      const h = sent[i]!.headers;
      const keys = ['authorization', 'x-killbill-apikey', 'x-killbill-apisecret', 'x-killbill-createdby'];
      return [...keys.map((k) => h[k]), String(h['content-type']).split(';')[0]];
    };
    expect(auth(0)).to.deep.equal(auth(1));
    expect(auth(0)[1]).to.equal(tenant.apiKey);
    expect(JSON.parse(sent[0]!.body)).to.deep.equal(record(ids[0]!));
  });

  it('closes a kept-alive connection idle for 4 s itself, before the server does (a reuse then would be reset)', async () => {
    // Announced as `Keep-Alive: timeout=10`: the proxy would close an idle connection after 11 s (Node adds 1 s).
    const kept = proxy.keepAliveTimeoutMs;
    proxy.keepAliveTimeoutMs = 10_000;
    try {
      const { bare } = clients();
      const closedBefore = proxy.closedConnections.length;
      expect(await bare.recordUsage(record(`usage-post-${randomUUID()}`))).to.equal('recorded');
      const port = proxy.seen(USAGE_POSTS).at(-1)!.callerPort;
      const closed = () => proxy.closedConnections.slice(closedBefore).find((c) => c.callerPort === port);
      await waitFor('the record’s connection has closed', () => closed() !== undefined, {
        timeoutMs: 20_000,
        intervalMs: 50,
      });
      expect(closed()?.by, 'who closed the idle connection first').to.equal('caller');
      expect(await bare.recordUsage(record(`usage-post-${randomUUID()}`))).to.equal('recorded');
      expect(proxy.seen(USAGE_POSTS).at(-1)!.callerPort, 'the next record’s connection').not.to.equal(port);
    } finally {
      proxy.keepAliveTimeoutMs = kept;
    }
  });

  it('reads a refusal of the record itself the same: not retryable, Kill Bill’s own message', async () => {
    const { bare, generated } = clients();
    const stranger = randomUUID();
    const [a, b] = await Promise.all(
      [bare, generated].map((c) =>
        c.recordUsage(record(`usage-post-${randomUUID()}`, stranger)).catch((e: unknown) => e),
      ),
    );
    expect(failureOf(a)).to.deep.equal(failureOf(b));
    expect(failureOf(a).status).to.be.within(400, 499);
    expect(failureOf(a).retryable).to.equal(false);
  });

  it('reads a 500, a hung Kill Bill and a Kill Bill that is down the same: retryable, no answer named', async () => {
    const { bare, generated } = clients(1_000);
    const both = () =>
      Promise.all(
        [bare, generated].map((c) =>
          c.recordUsage(record(`usage-post-${randomUUID()}`)).catch((e: unknown) => e),
        ),
      );

    proxy.failAll({ kind: 'status', status: 500 }, USAGE_POSTS);
    const [a500, b500] = await both();
    expect(failureOf(a500)).to.deep.equal(failureOf(b500));
    expect(failureOf(a500)).to.include({ status: 500, retryable: true, noAnswer: undefined });

    proxy.heal();
    proxy.failAll({ kind: 'hang' }, USAGE_POSTS);
    const [aHung, bHung] = await both();
    expect(failureOf(aHung)).to.deep.equal(failureOf(bHung));
    expect(failureOf(aHung)).to.include({ noAnswer: 'ECONNABORTED', retryable: true, status: undefined });

    proxy.heal();
    await proxy.down();
    try {
      const [aDown, bDown] = await both();
      expect(failureOf(aDown)).to.deep.equal(failureOf(bDown));
      expect(failureOf(aDown)).to.include({ noAnswer: 'ECONNREFUSED', retryable: true });
    } finally {
      await proxy.up();
    }
  });
});

describe('Kill Bill client: which usage records a proxy must carry', () => {
  it('keeps the generated client when the environment names a proxy for the URL’s scheme', () => {
    expect(proxiedFromEnv('http://kb:8080', {})).to.equal(false);
    expect(proxiedFromEnv('http://kb:8080', { HTTP_PROXY: 'http://p:3128' })).to.equal(true);
    expect(proxiedFromEnv('http://kb:8080', { http_proxy: 'http://p:3128' })).to.equal(true);
    expect(proxiedFromEnv('http://kb:8080', { HTTPS_PROXY: 'http://p:3128' })).to.equal(false);
    expect(proxiedFromEnv('https://kb:8443', { HTTPS_PROXY: 'http://p:3128' })).to.equal(true);
    expect(proxiedFromEnv('https://kb:8443', { HTTP_PROXY: '' })).to.equal(false);
  });
});
