/** The custom fields that decide what is metered (docs/registry.md). */
export const FIELD = {
  enabled: 'openstack_metering_enabled',
  projectId: 'openstack_project_id',
  metrics: 'openstack_cloudkitty_metrics',
  stackId: 'openstack_stack_id',
  stackName: 'openstack_stack_name',
  /** concertim-openstack-service's name for the account's project: an existing concertim Kill Bill works as is. */
  concertimProjectId: 'project_cloud_id',
} as const;

/** Why something is not metered, with the ids needed to fix it. */
export interface RegistryProblem {
  accountId: string;
  subscriptionId?: string;
  field?: string;
  value?: string;
  message: string;
}

/** A metric that will not be billed, and why. */
export interface UnmeteredMetric {
  metric: string;
  reason: string;
}

export type MeteringStatus = 'metered' | 'not-metered' | 'conflict';

/** One subscription as the registry sees it: what it meters, over which span, or why it does not. */
export interface SubscriptionEntry {
  tenantApiKey: string;
  accountId: string;
  subscriptionId: string;
  /** Keystone project id, as written in the field (normalised to lower case). */
  projectId: string | null;
  stackId: string | null;
  stackName: string | null;
  /**
   * For a subscription without a stack id: the stack ids of the other subscriptions metering its project
   * over an overlapping span. Their clusters' usage is theirs; this one takes the rest of the project
   * (what no metered cluster claims). Set when the registry is read, like conflicts.
   */
  otherStacks?: string[];
  /** Metric type → Kill Bill unit, only those that are billed. */
  units: Record<string, string>;
  unmetered: UnmeteredMetric[];
  /** Start of the billed span (ISO, UTC). */
  since: string | null;
  /** End of the billed span (exclusive), the cancellation; null while open. */
  until: string | null;
  /**
   * The subscription's bill-cycle day (its own after a SUBSCRIPTION_BCD_CHANGE, else the account's) and
   * the account's time zone and reference time: Kill Bill's usage periods, and so windows, depend on them.
   */
  billCycleDay: number;
  timeZone: string;
  /** The account's referenceTime (ISO): in FIXED tz mode its UTC offset then is the offset all year. */
  referenceTime: string | null;
  /** `metered` as resolved from its own account; conflicts between accounts are found over the whole registry. */
  status: MeteringStatus;
  reasons: string[];
}
