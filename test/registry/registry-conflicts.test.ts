import { expect } from 'chai';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { RegistryHarness, projectId } from './registry-harness.js';

describe('registry end to end: two subscriptions on one project (real Kill Bill)', function () {
  this.timeout(3 * 60_000);
  let h: RegistryHarness;
  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    h = await RegistryHarness.start();
  });
  after(async () => {
    await h?.close();
  });

  it('without stack ids both are in conflict; one cluster and the rest, or two clusters, meter both', async () => {
    const project = projectId();
    const first = await h.meteredAccount(project);
    await h.waitForEntry('the first is metered', first.subscriptionId, (x) => x.status === 'metered');
    const second = await h.meteredAccount(project);
    await h.settled();

    const a = (await h.entry(first.subscriptionId))!;
    const b = (await h.entry(second.subscriptionId))!;
    expect([a.status, b.status]).to.deep.equal(['conflict', 'conflict']);
    expect(a.reasons.join(' ')).to.include(second.subscriptionId).and.include(FIELD.stackId);
    expect(b.reasons.join(' ')).to.include(first.subscriptionId);

    // One stack id tells them apart: the first bills its cluster, the second the rest of the project.
    await h.setSubscriptionFields(first.subscriptionId, { [FIELD.stackId]: 'stack-a' });
    await h.waitForEntry('the stack id is known', first.subscriptionId, (x) => x.stackId === 'stack-a');
    await h.settled();
    expect((await h.entry(second.subscriptionId))!).to.deep.include({
      status: 'metered',
      stackId: null,
      otherStacks: ['stack-a'],
    });
    expect((await h.entry(first.subscriptionId))!).to.deep.include({ status: 'metered', stackId: 'stack-a' });

    // The same stack id twice cannot be told apart.
    await h.setSubscriptionFields(second.subscriptionId, { [FIELD.stackId]: 'stack-a' });
    await h.waitForEntry('the same stack twice', second.subscriptionId, (x) => x.status === 'conflict');
    await h.deleteSubscriptionField(second.subscriptionId, FIELD.stackId);
    await h.waitForEntry('the rest again', second.subscriptionId, (x) => x.status === 'metered');

    await h.setSubscriptionFields(second.subscriptionId, {
      [FIELD.stackId]: 'stack-b',
      [FIELD.stackName]: 'web tier',
    });
    const metered = await h.waitForEntry(
      'two clusters, both metered',
      second.subscriptionId,
      (x) => x.status === 'metered' && x.stackId === 'stack-b',
    );
    expect(metered.otherStacks, 'a cluster takes only its own usage').to.equal(undefined);
    expect(metered).to.deep.include({ projectId: project, stackId: 'stack-b', stackName: 'web tier' });
    expect((await h.entry(first.subscriptionId))!).to.deep.include({ status: 'metered', stackId: 'stack-a' });
  });

  it('spans decide: a replacement after the cancellations is metered, the past overlap stays a conflict until fixed', async () => {
    const project = projectId();
    // Started days ago: Kill Bill 0.22 dates a span by the day, so two subscriptions started and cancelled
    // today would span nothing and overlap nowhere.
    const weekAgo = new Date(Date.now() - 7 * 24 * 3_600_000).toISOString().slice(0, 10);
    const { accountId, subscriptionIds } = await h.createAccount(
      { [FIELD.enabled]: 'true', [FIELD.projectId]: project },
      2,
      weekAgo,
    );
    const [old, parallel] = subscriptionIds as [string, string];
    await h.waitForEntry('in conflict', parallel, (x) => x.status === 'conflict');
    expect((await h.entry(old))!.status).to.equal('conflict');

    await h.kb.cancelSubscription(parallel);
    await h.kb.cancelSubscription(old);
    const replacement = await h.kb.createSubscription(accountId, 'openstack-standard-monthly');
    await h.waitForEntry('the replacement is known', replacement, () => true);
    await h.settled();
    let byId = new Map((await h.entriesOf(accountId)).map((e) => [e.subscriptionId, e]));
    // The replacement starts where the others ended, so it overlaps neither.
    expect(byId.get(replacement)).to.deep.include({ status: 'metered', until: null });
    expect(byId.get(replacement)!.since! >= byId.get(old)!.until!).to.equal(true);
    // The two cancelled ones metered the project together while both ran: still a conflict.
    expect([byId.get(old)!.status, byId.get(parallel)!.status]).to.deep.equal(['conflict', 'conflict']);

    // The operator's fix: say which one did not meter the project.
    await h.setSubscriptionFields(parallel, { [FIELD.enabled]: 'false' });
    await h.waitForEntry('the opted-out one is not metered', parallel, (x) => x.status === 'not-metered');
    await h.settled();
    byId = new Map((await h.entriesOf(accountId)).map((e) => [e.subscriptionId, e]));
    expect(byId.get(old)!.status).to.equal('metered');
    expect(byId.get(old)!.until, 'metered up to its cancellation').to.be.a('string');
  });

  it('the same project on different tenants is no conflict: conflicts are looked for within a tenant', async () => {
    // One tenant is configured here; the store keys conflicts by tenant, so a project repeated in
    // another tenant's registry must not disturb this one.
    const project = projectId();
    const { subscriptionId } = await h.meteredAccount(project);
    await h.waitForEntry('metered', subscriptionId, (x) => x.status === 'metered');
    await h.store.replaceAccount(
      'other-tenant',
      '00000000-0000-0000-0000-000000000001',
      {
        entries: [
          {
            ...(await h.entry(subscriptionId))!,
            tenantApiKey: 'other-tenant',
            accountId: '00000000-0000-0000-0000-000000000001',
            subscriptionId: '00000000-0000-0000-0000-000000000002',
          },
        ],
        problems: [],
      },
      await h.store.now(),
    );
    expect((await h.entry(subscriptionId))!.status).to.equal('metered');
    expect((await h.store.entries('other-tenant'))[0]!.status).to.equal('metered');
  });
});
