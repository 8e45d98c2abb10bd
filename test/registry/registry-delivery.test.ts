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
import type { PushNotification } from './push-deliveries.js';
import { RegistryHarness, projectId } from './registry-harness.js';

describe('registry end to end: late, repeated, reordered and lost notifications (real Kill Bill)', function () {
  this.timeout(3 * 60_000);
  let h: RegistryHarness;
  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    h = await RegistryHarness.start();
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
      await registrar.refreshAccount(h.apiKey, accountId);
      // Conflicts are marked within this one account only; every test here uses projects of its own.
      return await store.entries(h.apiKey);
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
    const creation = h.pushes
      .of((n) => n.eventType === 'CUSTOM_FIELD_CREATION' && n.accountId === accountId)
      .find((d) => d.outcome === 200);
    expect(creation, 'Kill Bill notified the field creation').to.exist;

    // Sent exactly as Kill Bill sent it: at-least-once delivery repeats a body as it is.
    const body = creation!.body;
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
    const ofField = (eventType: string) => (n: PushNotification) =>
      n.eventType === eventType && n.accountId === accountId && n.objectType === 'CUSTOM_FIELD';
    const deleted = await h.accountFieldId(accountId, FIELD.projectId);
    const deletion = (n: PushNotification) => ofField('CUSTOM_FIELD_DELETION')(n) && n.objectId === deleted;
    let created = '';
    const creation = (n: PushNotification) => ofField('CUSTOM_FIELD_CREATION')(n) && n.objectId === created;

    // The deletion's deliveries are refused until the creation's is through, so Kill Bill's retry brings the
    // deletion after it.
    h.pushes.failFirst(deletion, creation);
    await h.kb.removeAccountCustomFields(accountId, [deleted]);
    const moved = projectId();
    await h.kb.addAccountCustomFields(accountId, [{ name: FIELD.projectId, value: moved }]);
    created = await h.accountFieldId(accountId, FIELD.projectId);

    await h.waitForEntry('metered on the new project', subscriptionId, (x) => x.projectId === moved);
    const retried = await waitFor(
      'Kill Bill delivered the deletion on its retry',
      () => {
        const attempts = h.pushes.of(deletion);
        return attempts.some((d) => d.outcome === 200) ? attempts : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await h.settled();

    const [delivered] = h.pushes.of(creation);
    // Refused until the creation was delivered, then taken once: [503, …, 503, 200].
    const last = retried[retried.length - 1]!;
    expect(retried.map((d) => d.outcome)).to.deep.equal([...retried.slice(1).map(() => 503), 200]);
    expect(retried[0]!.at).to.be.lessThan(delivered!.at);
    expect(last.at).to.be.greaterThan(delivered!.at);
    expect(await h.entry(subscriptionId)).to.deep.include({ status: 'metered', projectId: moved });
    expect(await h.entriesOf(accountId)).to.deep.equal(await freshReading(accountId));
  });

  it('notifications lost entirely: the reconcile heals the registry', async () => {
    const kept = await h.meteredAccount();
    await h.waitForEntry('metered', kept.subscriptionId, (x) => x.status === 'metered');
    await h.settled();
    const seen = h.pushes.all().length;
    // The callback refuses everything: Kill Bill retries each push on its schedule, then gives up on it.
    h.pushes.stop();
    let unseenAccount = '';
    try {
      const unseen = await h.meteredAccount();
      unseenAccount = unseen.accountId;
      await h.kb.removeAccountCustomFields(kept.accountId, [
        await h.accountFieldId(kept.accountId, FIELD.enabled),
      ]);
      await h.settled();
      const refused = h.pushes.all().slice(seen);
      expect(refused.map((d) => d.notification.accountId)).to.include(unseen.accountId);
      expect(refused.every((d) => d.outcome === 503)).to.equal(true);
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
      // Retries Kill Bill still has to make then arrive late; re-reading makes them harmless. (The stand-in
      // held every notification until resumed; the real Kill Bill drops one after its last retry.)
      h.pushes.resume();
      await h.settled();
    }
    const creation = (n: PushNotification) =>
      n.eventType === 'ACCOUNT_CREATION' && n.objectId === unseenAccount;
    expect(h.pushes.of(creation).length, 'Kill Bill retried the refused push').to.be.greaterThan(1);
    expect((await h.entry(kept.subscriptionId))!.status).to.equal('not-metered');
  });

  it('the reconcile reads every page of accounts (more than 100)', async function () {
    this.timeout(10 * 60_000); // 110 accounts made on a real Kill Bill
    h.pushes.stop(); // only the reconcile can find them
    const created: Array<{ subscriptionId: string; project: string }> = [];
    for (let batch = 0; batch < 11; batch++) {
      created.push(...(await Promise.all(Array.from({ length: 10 }, () => h.meteredAccount()))));
    }
    const accounts: string[] = [];
    for await (const page of new PagedListings(h.kb).accounts())
      accounts.push(...page.map((a) => a.accountId!));
    expect(accounts.length, 'more than one page of 100').to.be.greaterThan(110);

    await h.reconcileThroughQueue();
    const entries = new Map((await h.store.entries(h.apiKey)).map((e) => [e.subscriptionId, e]));
    const missing = created.filter((c) => entries.get(c.subscriptionId)?.projectId !== c.project);
    expect(missing, 'subscriptions the reconcile did not meter').to.deep.equal([]);
    expect((await h.store.lastReconcile(h.apiKey))!.accounts).to.equal(accounts.length);
    expect((await h.store.accountIds(h.apiKey)).length).to.equal(accounts.length);
  });
});
