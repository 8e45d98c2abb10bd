import type { MeteredEntry } from '../../src/sync/metered-entry.js';

/**
 * A registry entry the sync may record, for the pure tests: tenant bob, one subscription of project `p`
 * metered on `instance` since 2026-03-01 UTC, monthly from the 1st. `over` changes what a test is about.
 */
export function meteredEntry(over: Partial<MeteredEntry> = {}): MeteredEntry {
  return {
    tenantApiKey: 'bob',
    accountId: 'acc',
    subscriptionId: 'sub',
    projectId: 'p',
    stackId: null,
    stackName: null,
    units: { instance: 'openstack-billed-instance' },
    unmetered: [],
    since: '2026-03-01T00:00:00.000Z',
    until: null,
    billCycleDay: 1,
    timeZone: 'UTC',
    referenceTime: null,
    status: 'metered',
    reasons: [],
    ...over,
  };
}
