import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import {
  createTenant,
  getClock,
  moveClockDays,
  resetClock,
  setClock,
  startKillBill,
  tenantHeaders,
  waitForQueues,
  type KillBillServer,
  type KillBillTenant,
} from './support/killbill-server.js';

/** The real Kill Bill server harness (scripts/killbill.sh): tenants are isolated, the test clock moves. */
describe('Kill Bill server harness (real Kill Bill)', function () {
  let server: KillBillServer;
  let alice: KillBillTenant;
  let bob: KillBillTenant;

  before(async function () {
    // A cold start downloads the war and Jetty from Maven Central, then the JVM takes tens of seconds.
    this.timeout(10 * 60_000);
    server = await startKillBill();
    [alice, bob] = await Promise.all([createTenant(), createTenant()]);
  });

  after(async function () {
    this.timeout(60_000);
    if (alice) await resetClock(alice);
  });

  it('runs a real Kill Bill with two tenants of their own', async function () {
    this.timeout(30_000);
    expect(server.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.database).to.match(/^killbill_[0-9a-f]+$/);
    // Not /1.0/healthcheck: it answers 500 while Kill Bill's queues lag behind a moved test clock, and 200
    // even when services failed to start. A tenant created is the proof the server works.
    expect(alice.tenantId).to.match(/^[0-9a-f-]{36}$/);
    expect(bob.tenantId).to.not.equal(alice.tenantId);
    expect(bob.apiKey).to.not.equal(alice.apiKey);
  });

  it("keeps one tenant's account out of another tenant's sight", async function () {
    this.timeout(30_000);
    const externalKey = `acct-${randomBytes(4).toString('hex')}`;
    const created = await fetch(`${alice.url}/1.0/kb/accounts`, {
      method: 'POST',
      headers: { ...tenantHeaders(alice), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Alice Cloud', externalKey, currency: 'USD' }),
    });
    expect(created.status).to.equal(201);
    const accountId = created.headers.get('location')?.split('/').pop();

    const byAlice = await fetch(`${alice.url}/1.0/kb/accounts?externalKey=${externalKey}`, {
      headers: tenantHeaders(alice),
    });
    expect(byAlice.status).to.equal(200);
    expect(((await byAlice.json()) as { accountId: string }).accountId).to.equal(accountId);

    const byBobKey = await fetch(`${bob.url}/1.0/kb/accounts?externalKey=${externalKey}`, {
      headers: tenantHeaders(bob),
    });
    expect(byBobKey.status).to.equal(404);
    // By id, Kill Bill 0.22.26 answers 500 (IllegalStateException "Object id=... type=ACCOUNT doesn't
    // belong to tenant id=..."), not 404: still nothing of the account crosses over.
    const byBobId = await fetch(`${bob.url}/1.0/kb/accounts/${accountId}`, { headers: tenantHeaders(bob) });
    const body = await byBobId.text();
    expect(byBobId.status).to.be.oneOf([404, 500]);
    expect(body).to.not.include('Alice Cloud');
    if (byBobId.status === 500) expect(body).to.include("doesn't belong to tenant");
    await waitForQueues(alice);
  });

  it('reads, sets, moves and resets the server clock', async function () {
    this.timeout(60_000);
    const real = await getClock(alice);
    expect(Math.abs(Date.parse(real.currentUtcTime) - Date.now())).to.be.below(60_000);

    const target = '2031-01-31T10:00:00.000Z';
    const set = await setClock(alice, target);
    // The moved clock keeps ticking from the date it was set to.
    expect(Date.parse(set.currentUtcTime) - Date.parse(target)).to.be.within(0, 30_000);
    // One clock for the whole server: the other tenant sees it too.
    expect((await getClock(bob)).localDate).to.equal('2031-01-31');

    const moved = await moveClockDays(alice, 3);
    expect(moved.localDate).to.equal('2031-02-03');
    await waitForQueues(alice);

    const reset = await resetClock(alice);
    expect(Math.abs(Date.parse(reset.currentUtcTime) - Date.now())).to.be.below(60_000);
  });
});
