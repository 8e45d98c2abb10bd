import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { PagedListings } from '../../src/clients/killbill/paged-listings.js';
import { createTenantClients } from '../../src/clients/killbill/tenant-clients.js';
import { silentLogger } from '../../src/logging/logger.js';
import { AccountRegistrar } from '../../src/registry/account-registrar.js';
import { FIELD, type SubscriptionEntry } from '../../src/registry/metered-subscription.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { waitFor } from '../support/wait.js';
import { RegistryHarness, TENANT, projectId } from './registry-harness.js';

describe('registry end to end: late, repeated, reordered and lost notifications', () => {
  let h: RegistryHarness;
  before(async () => {
    h = await RegistryHarness.start([400, 400]);
  });
  after(async () => {
    await h?.close();
  });

  /** What one orderly reading of Kill Bill's current state gives, in a registry of its own. */
  async function freshReading(accountId: string): Promise<SubscriptionEntry[]> {
    const connection = h.redis.client();
    try {
      const store = new RegistryStore(connection, `fresh-${randomUUID()}`);
      const registrar = new AccountRegistrar({
        clients: createTenantClients(h.config),
        store,
        metricUnits: h.config.metering.metricUnits,
        logger: silentLogger,
      });
      await registrar.refreshAccount(TENANT, accountId);
      // Conflicts are marked within this one account only; every test here uses projects of its own.
      return await store.entries(TENANT);
    } finally {
      connection.disconnect();
    }
  }

  const postToIntake = (body: string) =>
    fetch(`http://127.0.0.1:${h.api.port}/killbill/notifications?token=${TEST_TOKEN}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=UTF-8', 'User-Agent': 'KillBill/1.0' },
      body,
    });

  it('the same notification delivered three times leaves the same registry', async () => {
    const { accountId, subscriptionId } = await h.meteredAccount();
    await h.waitForEntry('metered', subscriptionId, (x) => x.status === 'metered');
    await h.settled();
    const before = await h.entriesOf(accountId);
    const creation = h.standin.control
      .notifications()
      .find((n) => n.body.eventType === 'CUSTOM_FIELD_CREATION' && n.body.accountId === accountId);
    expect(creation, 'Kill Bill notified the field creation').to.exist;

    const body = JSON.stringify(creation!.body);
    const answers = await Promise.all([postToIntake(body), postToIntake(body), postToIntake(body)]);
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200]);
    await h.settled();
    expect(await h.entriesOf(accountId)).to.deep.equal(before);
    expect(await h.entriesOf(accountId)).to.deep.equal(await freshReading(accountId));
  });

  it('an older event delivered after a newer one does not undo it', async () => {
    const { accountId, subscriptionId } = await h.meteredAccount();
    await h.waitForEntry('metered', subscriptionId, (x) => x.status === 'metered');
    await h.settled();
    const sent = h.standin.control.notifications().length;

    // The deletion's first delivery fails, so Kill Bill retries it after the creation went out.
    h.standin.control.failNextDeliveries(1);
    await h.kb.removeAccountCustomFields(accountId, [await h.accountFieldId(accountId, FIELD.projectId)]);
    const moved = projectId();
    await h.kb.addAccountCustomFields(accountId, [{ name: FIELD.projectId, value: moved }]);

    const [deletion, creation] = h.standin.control.notifications().slice(sent);
    expect([deletion?.body.eventType, creation?.body.eventType]).to.deep.equal([
      'CUSTOM_FIELD_DELETION',
      'CUSTOM_FIELD_CREATION',
    ]);
    await h.waitForEntry('metered on the new project', subscriptionId, (x) => x.projectId === moved);
    const retried = await waitFor('Kill Bill delivered the deletion on its retry', () =>
      h.standin.control.notifications().find((n) => n.id === deletion!.id && n.state === 'delivered'),
    );
    await h.settled();

    const delivered = h.standin.control.notifications().find((n) => n.id === creation!.id)!;
    expect(retried.attempts).to.have.length(2);
    expect(retried.attempts[1]!.at.getTime()).to.be.greaterThan(delivered.attempts[0]!.at.getTime());
    expect(await h.entry(subscriptionId)).to.deep.include({ status: 'metered', projectId: moved });
    expect(await h.entriesOf(accountId)).to.deep.equal(await freshReading(accountId));
  });

  it('notifications lost entirely: the reconcile heals the registry', async () => {
    const kept = await h.meteredAccount();
    await h.waitForEntry('metered', kept.subscriptionId, (x) => x.status === 'metered');
    await h.settled();
    h.stopDelivery();
    try {
      const unseen = await h.meteredAccount();
      await h.kb.removeAccountCustomFields(kept.accountId, [
        await h.accountFieldId(kept.accountId, FIELD.enabled),
      ]);
      await h.settled();
      expect(await h.entry(unseen.subscriptionId), 'no notification reached the bridge').to.equal(undefined);
      expect((await h.entry(kept.subscriptionId))!.status).to.equal('metered');

      await h.reconcileThroughQueue();
      expect(await h.entry(unseen.subscriptionId)).to.deep.include({
        status: 'metered',
        projectId: unseen.project,
      });
      expect(await h.entry(kept.subscriptionId)).to.deep.include({
        status: 'not-metered',
        reasons: [`${FIELD.enabled} is not set`],
      });
      expect(await h.entriesOf(unseen.accountId)).to.deep.equal(await freshReading(unseen.accountId));
    } finally {
      // The held notifications then arrive late; re-reading makes them harmless.
      h.resumeDelivery();
      await h.settled();
    }
    expect((await h.entry(kept.subscriptionId))!.status).to.equal('not-metered');
  });

  it('the reconcile reads every page of accounts (more than 100)', async function () {
    this.timeout(30_000);
    h.stopDelivery(); // only the reconcile can find them
    const created: Array<{ subscriptionId: string; project: string }> = [];
    for (let batch = 0; batch < 11; batch++) {
      created.push(...(await Promise.all(Array.from({ length: 10 }, () => h.meteredAccount()))));
    }
    const accounts: string[] = [];
    for await (const page of new PagedListings(h.kb).accounts())
      accounts.push(...page.map((a) => a.accountId!));
    expect(accounts.length, 'more than one page of 100').to.be.greaterThan(110);

    await h.reconcileThroughQueue();
    const entries = new Map((await h.store.entries(TENANT)).map((e) => [e.subscriptionId, e]));
    const missing = created.filter((c) => entries.get(c.subscriptionId)?.projectId !== c.project);
    expect(missing, 'subscriptions the reconcile did not meter').to.deep.equal([]);
    expect((await h.store.lastReconcile(TENANT))!.accounts).to.equal(accounts.length);
    expect((await h.store.accountIds(TENANT)).length).to.equal(accounts.length);
  });
});
