import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { startCloudKitty, seedRatedUsage } from '../support/cloudkitty.js';
import {
  dayOf,
  HOUR,
  hourlyUsage,
  MeteredTenant,
  newProjectId,
  type MeteredAccount,
} from '../support/metered-tenant.js';
import { startKillBill } from '../support/killbill-server.js';
import { waitFor } from '../support/wait.js';
import { accountCreation, TenantBridge, tokenOf } from './tenant-bridge.js';

const HOURS = 10;

/**
 * `killbill.extraTenants` end to end on the REAL Kill Bill: two tenants, each with its own accounts on
 * its own OpenStack projects, learnt through Kill Bill's own push notifications, synced from one
 * CloudKitty into one Redis, with nothing crossing from one tenant to the other.
 */
describe('two Kill Bill tenants, one bridge: nothing crosses over (real Kill Bill, CloudKitty, Redis)', function () {
  this.timeout(5 * 60_000);
  let alpha: MeteredTenant;
  let beta: MeteredTenant;
  let bridge: TenantBridge;
  const accounts = new Map<string, MeteredAccount[]>();
  const expected = new Map<string, number>();
  let startDay: string;

  before(async function () {
    this.timeout(15 * 60_000);
    const cloudkitty = await startCloudKitty();
    [alpha, beta] = await Promise.all([MeteredTenant.create(), MeteredTenant.create()]);
    bridge = await TenantBridge.start([alpha, beta], cloudkitty.url);
    const start = Math.floor(Date.now() / HOUR) * HOUR - (HOURS + 3) * HOUR;
    startDay = dayOf(start - 24 * HOUR);
    // Different projects, and different usage on each: a leak would show as a wrong total.
    const projects = [newProjectId(), newProjectId(), newProjectId(), newProjectId()];
    const { usage, cents } = hourlyUsage(projects, start, HOURS);
    await seedRatedUsage(cloudkitty.url, usage);
    for (const [t, tenant] of [alpha, beta].entries()) {
      const mine: MeteredAccount[] = [];
      for (const i of [2 * t, 2 * t + 1]) {
        const a = await tenant.meteredAccount(`tenant${t}-acct${i}`, projects[i]!, startDay);
        mine.push(a);
        expected.set(a.subscriptionId, cents[i]!);
      }
      accounts.set(tenant.apiKey, mine);
    }
  });

  after(async function () {
    this.timeout(60_000);
    await bridge?.close();
  });

  it('registers one callback per tenant, each with its own path and token', async () => {
    const [alphaUrl] = await alpha.kb.getCallbacks();
    const [betaUrl] = await beta.kb.getCallbacks();
    expect(alphaUrl).to.match(new RegExp(`^${bridge.intakeUrl}/killbill/notifications\\?token=`));
    expect(betaUrl).to.match(
      new RegExp(`^${bridge.intakeUrl}/killbill/notifications/${beta.apiKey}\\?token=`),
    );
    expect(tokenOf(alphaUrl!)).to.not.equal(tokenOf(betaUrl!));
  });

  it("learns each tenant's accounts from Kill Bill's push notifications, into that tenant's registry only", async () => {
    const registry = bridge.runtime.registry;
    const subscriptionsOf = (tenant: MeteredTenant) =>
      accounts
        .get(tenant.apiKey)!
        .map((a) => a.subscriptionId)
        .sort();
    for (const tenant of [alpha, beta]) {
      await waitFor(
        `the registry of ${tenant.apiKey} meters its two subscriptions`,
        async () => {
          const metered = (await registry.entries(tenant.apiKey)).filter((e) => e.status === 'metered');
          return JSON.stringify(metered.map((e) => e.subscriptionId).sort()) ===
            JSON.stringify(subscriptionsOf(tenant))
            ? true
            : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );
    }
    expect((await registry.tenants()).sort()).to.deep.equal([alpha.apiKey, beta.apiKey].sort());
    for (const tenant of [alpha, beta]) {
      const own = accounts.get(tenant.apiKey)!;
      expect((await registry.accountIds(tenant.apiKey)).sort()).to.deep.equal(
        own.map((a) => a.accountId).sort(),
      );
      const entries = await registry.entries(tenant.apiKey);
      expect(entries.map((e) => e.tenantApiKey)).to.deep.equal([tenant.apiKey, tenant.apiKey]);
      expect(entries.map((e) => e.projectId).sort()).to.deep.equal(own.map((a) => a.projectId).sort());
    }
  });

  it("records each subscription's own project total in its own tenant", async () => {
    const results = await bridge.runtime.usageSync.runOnce({ mode: 'new' });
    expect(results.map((r) => r.error).filter(Boolean)).to.deep.equal([]);
    expect(results.map((r) => r.subscriptionId).sort()).to.deep.equal([...expected.keys()].sort());
    for (const tenant of [alpha, beta]) {
      for (const a of accounts.get(tenant.apiKey)!) {
        expect(await tenant.recordedCents(a.subscriptionId, startDay), a.subscriptionId).to.equal(
          expected.get(a.subscriptionId),
        );
      }
    }
    expect(new Set(expected.values()).size, 'every project had a different total').to.equal(4);
  });

  it("refuses one tenant's token on the other tenant's path, both ways", async () => {
    const alphaToken = tokenOf((await alpha.kb.getCallbacks())[0]!);
    const betaToken = tokenOf((await beta.kb.getCallbacks())[0]!);
    const betaAccount = accounts.get(beta.apiKey)![0]!.accountId;
    const alphaAccount = accounts.get(alpha.apiKey)![0]!.accountId;
    const before = await bridge.registryQueue.getJobCounts();
    const onBeta = await bridge.notify(
      `/killbill/notifications/${beta.apiKey}`,
      alphaToken,
      accountCreation(betaAccount),
    );
    const onAlpha = await bridge.notify('/killbill/notifications', betaToken, accountCreation(alphaAccount));
    expect([onBeta.status, onAlpha.status]).to.deep.equal([401, 401]);
    expect(await bridge.registryQueue.getJobCounts(), 'no job was queued').to.deep.equal(before);
  });

  it("keeps one tenant's account id out of the other tenant's registry, whichever path it is posted on", async () => {
    const registry = bridge.runtime.registry;
    for (const [owner, other] of [
      [alpha, beta],
      [beta, alpha],
    ] as const) {
      const foreign = accounts.get(owner.apiKey)![0]!.accountId;
      const path = other === alpha ? '/killbill/notifications' : `/killbill/notifications/${other.apiKey}`;
      const token = tokenOf((await other.kb.getCallbacks())[0]!);
      const before = (await registry.accountIds(other.apiKey)).sort();
      // The intake cannot know whose id it is: the right token on the right path gets the job queued.
      const answer = await bridge.notify(path, token, accountCreation(foreign));
      expect(answer.status).to.equal(200);
      const outcome = await bridge.finalState(String(answer.body.jobId));
      // Kill Bill 0.22.26 answers 500 "Object id=... doesn't belong to tenant id=..." (a newer one may
      // answer 404): the first fails the job at once, the second completes it, neither writes the id.
      if ((await startKillBill()).version.startsWith('0.22.')) expect(outcome.state).to.equal('failed');
      if (outcome.state === 'failed')
        expect(outcome.reason).to.match(/500 Object id=.* doesn't belong to tenant/);
      expect((await registry.accountIds(other.apiKey)).sort()).to.deep.equal(before);
      expect(await registry.account(other.apiKey, foreign)).to.equal(null);
      expect((await registry.account(owner.apiKey, foreign))?.subscriptionIds).to.have.length(1);
    }
  });

  it('records nothing for an account id Kill Bill does not know (404), whichever tenant it is posted for', async () => {
    const registry = bridge.runtime.registry;
    const unknown = randomUUID();
    const token = tokenOf((await beta.kb.getCallbacks())[0]!);
    const answer = await bridge.notify(
      `/killbill/notifications/${beta.apiKey}`,
      token,
      accountCreation(unknown),
    );
    expect(answer.status).to.equal(200);
    expect(await bridge.finalState(String(answer.body.jobId))).to.deep.equal({ state: 'completed' });
    expect(await registry.account(beta.apiKey, unknown)).to.equal(null);
    expect(await registry.accountIds(beta.apiKey)).to.have.length(2);
  });
});
