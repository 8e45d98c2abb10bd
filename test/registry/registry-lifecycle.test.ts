import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { cycleOfEntry } from '../../src/sync/metered-entry.js';
import { scheduleReconciles } from '../../workers/registry-worker.js';
import { waitFor } from '../support/wait.js';
import type { PushNotification } from './push-deliveries.js';
import { RegistryHarness, projectId } from './registry-harness.js';

const BILLED = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' };

describe('registry end to end: Kill Bill changes reach the registry (real Kill Bill)', function () {
  this.timeout(3 * 60_000);
  let h: RegistryHarness;
  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    h = await RegistryHarness.start();
  });
  after(async () => {
    await h?.close();
  });

  it('an account created with the fields is metered, with its project, units, span and billing cycle', async () => {
    const { accountId, subscriptionId, project } = await h.meteredAccount();
    const e = await h.waitForEntry(
      'the new subscription is metered',
      subscriptionId,
      (x) => x.status === 'metered',
    );
    const sub = (await h.kb.getSubscription(subscriptionId))!;
    const account = (await h.kb.getAccount(accountId))!;
    expect(e).to.deep.include({
      tenantApiKey: h.apiKey,
      accountId,
      projectId: project,
      units: BILLED,
      since: new Date(sub.billingStartDate!).toISOString(),
      until: null,
      timeZone: 'UTC',
      reasons: [],
    });
    expect(account.billCycleDayLocal).to.be.greaterThan(0);
    // Kill Bill sets the account's bill-cycle day with its first subscription, and the registry may have read the
    // account just before (0, seen once in a CI run); either way the sync bills by the day Kill Bill set.
    expect([0, account.billCycleDayLocal]).to.include(e.billCycleDay);
    expect(cycleOfEntry(e, 'FIXED').billCycleDay).to.equal(account.billCycleDayLocal);
    // Every configured metric is asked for by default; `ram`'s unit is not in the tenant's catalog.
    expect(e.unmetered).to.deep.equal([
      { metric: 'ram', reason: "the tenant's catalog has no unit openstack-billed-ram" },
    ]);
    const record = (await h.store.account(h.apiKey, accountId))!;
    expect(record.problems).to.deep.equal([
      {
        accountId,
        subscriptionId,
        field: FIELD.metrics,
        value: 'ram',
        message: "metric ram is not metered: the tenant's catalog has no unit openstack-billed-ram",
      },
    ]);
  });

  it('a field changed in place (no notification) is healed by the scheduled reconcile', async () => {
    const { accountId, subscriptionId, project } = await h.meteredAccount();
    await h.waitForEntry('metered on the first project', subscriptionId, (x) => x.projectId === project);
    await h.settled();
    try {
      await scheduleReconciles(h.queue, [h.apiKey], 300);
      const first = await waitFor(
        'a first scheduled reconcile ran',
        async () => {
          const r = await h.store.lastReconcile(h.apiKey);
          return r && r.at > h.catalogRebuild.at ? r : undefined;
        },
        { timeoutMs: 60_000 },
      );

      const ofAccount = (n: PushNotification) => n.accountId === accountId;
      const sent = h.pushes.of(ofAccount).length;
      const moved = projectId();
      const fieldId = await h.accountFieldId(accountId, FIELD.projectId);
      await h.kb.updateAccountCustomFields(accountId, [{ customFieldId: fieldId, value: moved }]);
      await waitFor('Kill Bill processed the change', () => h.killBillIdle());
      expect(h.pushes.of(ofAccount), 'Kill Bill sends nothing for a PUT').to.have.length(sent);

      const e = await h.waitForEntry(
        'the reconcile picked up the new project',
        subscriptionId,
        (x) => x.projectId === moved,
      );
      expect(e.status).to.equal('metered');
      // Healed by a later, scheduled run; it records itself once its last account is read.
      const last = await waitFor(
        'a later reconcile ran',
        async () => {
          const r = await h.store.lastReconcile(h.apiKey);
          return r && r.at > first.at ? r : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(last.accounts).to.be.at.least(2);
    } finally {
      await h.queue.removeJobScheduler(`reconcile:${h.apiKey}`);
    }
  });

  it('a field deleted and created again with another value is followed through its notifications', async () => {
    const { accountId, subscriptionId, project } = await h.meteredAccount();
    await h.waitForEntry('metered on the first project', subscriptionId, (x) => x.projectId === project);
    const moved = projectId();
    await h.kb.removeAccountCustomFields(accountId, [await h.accountFieldId(accountId, FIELD.projectId)]);
    await h.kb.addAccountCustomFields(accountId, [{ name: FIELD.projectId, value: moved }]);
    const e = await h.waitForEntry(
      'metered on the new project',
      subscriptionId,
      (x) => x.projectId === moved,
    );
    expect(e.status).to.equal('metered');
  });

  it('the enabling field deleted: the subscription is no longer metered, and says why', async () => {
    const { accountId, subscriptionId } = await h.meteredAccount();
    await h.waitForEntry('metered', subscriptionId, (x) => x.status === 'metered');
    await h.kb.removeAccountCustomFields(accountId, [await h.accountFieldId(accountId, FIELD.enabled)]);
    const e = await h.waitForEntry('no longer metered', subscriptionId, (x) => x.status === 'not-metered');
    expect(e.reasons).to.deep.equal([`${FIELD.enabled} is not set`]);
  });

  it('a cancelled subscription stays metered up to its cancellation', async () => {
    const { subscriptionId } = await h.meteredAccount();
    const before = await h.waitForEntry('metered', subscriptionId, (x) => x.status === 'metered');
    await h.kb.cancelSubscription(subscriptionId);
    const e = await h.waitForEntry('the cancellation is known', subscriptionId, (x) => x.until !== null);
    const sub = (await h.kb.getSubscription(subscriptionId))!;
    expect(sub.state).to.equal('CANCELLED');
    expect(e.status).to.equal('metered');
    expect(e.until).to.equal(new Date(sub.cancelledDate!).toISOString());
    expect(e.since).to.equal(before.since);
    expect(e.since! <= e.until!).to.equal(true);
  });

  it("a subscription's own field overrides its account's; the rest is inherited", async () => {
    const accountProject = projectId();
    const ownProject = projectId();
    const { accountId, subscriptionIds } = await h.createAccount(
      { [FIELD.enabled]: 'TRUE', [FIELD.projectId]: accountProject, [FIELD.metrics]: 'instance' },
      3,
    );
    const [inherits, overrides, optedOut] = subscriptionIds as [string, string, string];
    await h.setSubscriptionFields(overrides, { [FIELD.projectId]: ownProject, [FIELD.metrics]: ' vcpus ' });
    await h.setSubscriptionFields(optedOut, { [FIELD.enabled]: 'False' });
    await h.waitForEntry('the opt-out is known', optedOut, (x) => x.reasons.length > 0);
    await h.waitForEntry('the override is known', overrides, (x) => x.projectId === ownProject);
    await h.settled();

    const byId = new Map((await h.entriesOf(accountId)).map((e) => [e.subscriptionId, e]));
    expect(byId.get(inherits)).to.deep.include({
      status: 'metered',
      projectId: accountProject,
      units: { instance: BILLED.instance },
    });
    expect(byId.get(overrides)).to.deep.include({
      status: 'metered',
      projectId: ownProject,
      units: { vcpus: BILLED.vcpus },
    });
    expect(byId.get(optedOut)).to.deep.include({
      status: 'not-metered',
      projectId: accountProject,
      reasons: [`${FIELD.enabled} is false`],
    });
  });

  it('bad values are reported with the account, subscription, field and value, and are not metered', async () => {
    const badProject = await h.createAccount({ [FIELD.enabled]: 'true', [FIELD.projectId]: 'not-a-project' });
    const badFlag = await h.createAccount({ [FIELD.enabled]: 'yes', [FIELD.projectId]: projectId() });
    const twoValues = await h.createAccount({ [FIELD.enabled]: 'true', [FIELD.projectId]: projectId() });
    const [twoValuesSub] = twoValues.subscriptionIds as [string];
    await h.setSubscriptionFields(twoValuesSub, { [FIELD.metrics]: 'instance,gpu' });
    await h.kb.addAccountCustomFields(twoValues.accountId, [{ name: FIELD.projectId, value: projectId() }]);
    await h.settled();

    const problemsOf = async (accountId: string) => (await h.store.account(h.apiKey, accountId))!.problems;
    const [badProjectSub] = badProject.subscriptionIds as [string];
    expect(await problemsOf(badProject.accountId)).to.deep.include({
      accountId: badProject.accountId,
      subscriptionId: badProjectSub,
      field: FIELD.projectId,
      value: 'not-a-project',
      message: `${FIELD.projectId} must be a Keystone project id (32 hex digits or a UUID)`,
    });
    expect((await h.entry(badProjectSub))!.status).to.equal('not-metered');

    const [badFlagSub] = badFlag.subscriptionIds as [string];
    expect(await problemsOf(badFlag.accountId)).to.deep.equal([
      {
        accountId: badFlag.accountId,
        subscriptionId: badFlagSub,
        field: FIELD.enabled,
        value: 'yes',
        message: `${FIELD.enabled} must be true or false`,
      },
    ]);
    expect((await h.entry(badFlagSub))!.status).to.equal('not-metered');

    // Two values under one name are an error, not a guess; the unknown metric is named too.
    const problems = await problemsOf(twoValues.accountId);
    expect(problems.map((p) => [p.field, p.message])).to.have.deep.members([
      [FIELD.projectId, `${FIELD.projectId} has 2 different values`],
      [
        FIELD.metrics,
        'metric gpu is not metered: no Kill Bill unit is configured for it (metering.metricUnits)',
      ],
    ]);
    const e = (await h.entry(twoValuesSub))!;
    expect(e.status).to.equal('not-metered');
    expect(e.unmetered).to.deep.include({
      metric: 'gpu',
      reason: 'no Kill Bill unit is configured for it (metering.metricUnits)',
    });
  });
  // Last: it changes the tenant's catalog for every later test.
  it('a new catalog version declaring a unit queues a reconcile, and the metric becomes billed', async () => {
    const { subscriptionId } = await h.meteredAccount();
    await h.waitForEntry('metered without ram', subscriptionId, (x) => x.status === 'metered');
    await h.settled(); // so that only the catalog's notification can bring the change
    expect((await h.entry(subscriptionId))!.units).to.deep.equal(BILLED);
    const before = (await h.store.lastReconcile(h.apiKey))?.at ?? 0;

    const v2 = readFileSync(new URL('../../catalog/catalog.xml', import.meta.url), 'utf8')
      .replace(
        '<effectiveDate>2024-01-01T00:00:00+00:00</effectiveDate>',
        '<effectiveDate>2024-06-01T00:00:00+00:00</effectiveDate>',
      )
      .replace('<units>', '<units>\n    <unit name="openstack-billed-ram"/>');
    expect(v2).to.include('2024-06-01').and.include('openstack-billed-ram');
    await h.kb.uploadCatalogXml(v2);

    const e = await h.waitForEntry('ram is billed', subscriptionId, (x) => 'ram' in x.units);
    expect(e.units).to.deep.equal({ ...BILLED, ram: 'openstack-billed-ram' });
    expect(e.unmetered).to.deep.equal([]);
    // The reconcile marks itself done after its last account, a moment after this one was refreshed.
    await waitFor(
      'the tenant was reconciled',
      async () => ((await h.store.lastReconcile(h.apiKey))?.at ?? 0) > before,
      { timeoutMs: 60_000 },
    );
  });
});
