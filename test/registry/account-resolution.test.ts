import { expect } from 'chai';
import { resolveAccount, type AccountState, type FieldView } from '../../src/registry/account-resolution.js';

const PROJECT = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';
const field = (name: string, value: string): FieldView => ({ name, value });

function state(accountFields: FieldView[], subscriptionFields: FieldView[] = []): AccountState {
  return {
    tenantApiKey: 'bob',
    account: { accountId: 'a1', billCycleDayLocal: 1, timeZone: 'UTC' },
    accountFields,
    subscriptions: [
      {
        subscription: { subscriptionId: 's1', state: 'ACTIVE', billingStartDate: '2024-04-01T00:00:00Z' },
        fields: subscriptionFields,
      },
    ],
    catalogUnits: new Set(['openstack-billed-instance', 'openstack-billed-vcpus']),
    metricUnits: { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' },
  };
}

describe("registry rules: concertim's project_cloud_id", () => {
  it('an account carrying only project_cloud_id is metered, for that project and every configured metric', () => {
    const { entries, problems } = resolveAccount(state([field('project_cloud_id', PROJECT.toUpperCase())]));
    expect(problems).to.deep.equal([]);
    expect(entries[0]).to.deep.include({ status: 'metered', projectId: PROJECT });
    expect(entries[0]!.units).to.deep.equal({
      instance: 'openstack-billed-instance',
      vcpus: 'openstack-billed-vcpus',
    });
  });

  it('openstack_metering_enabled=false still turns it off', () => {
    const { entries } = resolveAccount(
      state([field('project_cloud_id', PROJECT), field('openstack_metering_enabled', 'false')]),
    );
    expect(entries[0]).to.deep.include({ status: 'not-metered' });
    expect(entries[0]!.reasons).to.deep.equal(['openstack_metering_enabled is false']);
  });

  it('openstack_project_id wins when both are set and differ, and the difference is reported', () => {
    const { entries, problems } = resolveAccount(
      state([field('project_cloud_id', OTHER), field('openstack_project_id', PROJECT)]),
    );
    expect(entries[0]).to.deep.include({ status: 'metered', projectId: PROJECT });
    expect(problems).to.have.length(1);
    expect(problems[0]).to.deep.include({ field: 'project_cloud_id', value: OTHER, subscriptionId: 's1' });
    expect(problems[0]!.message).to.match(/differ; openstack_project_id is used/);
  });

  it('the same project written both ways (UUID and 32 hex digits) is no difference', () => {
    const uuid = `${PROJECT.slice(0, 8)}-${PROJECT.slice(8, 12)}-${PROJECT.slice(12, 16)}-${PROJECT.slice(16, 20)}-${PROJECT.slice(20)}`;
    const { problems } = resolveAccount(
      state([field('project_cloud_id', uuid), field('openstack_project_id', PROJECT)]),
    );
    expect(problems).to.deep.equal([]);
  });

  it('a bad project_cloud_id is reported under its own name', () => {
    const { entries, problems } = resolveAccount(state([field('project_cloud_id', 'web-prod')]));
    expect(entries[0]).to.deep.include({ status: 'not-metered', projectId: null });
    expect(problems[0]).to.deep.include({ field: 'project_cloud_id', value: 'web-prod' });
  });
});

describe('registry rules: what the billing periods depend on', () => {
  it("keeps the account's reference time, and the subscription's own bill-cycle day over the account's", () => {
    const s = state([field('project_cloud_id', PROJECT)]);
    s.account.referenceTime = '2024-01-15T10:00:00.000Z';
    s.account.timeZone = 'America/New_York';
    s.subscriptions[0]!.subscription.billCycleDayLocal = 15;
    const [entry] = resolveAccount(s).entries;
    expect(entry).to.deep.include({
      billCycleDay: 15,
      timeZone: 'America/New_York',
      referenceTime: '2024-01-15T10:00:00.000Z',
    });
  });
});
