import type { JobsOptions } from 'bullmq';

/** What caused a registry job, kept on the job so a failed one says what it was about. */
export interface JobCause {
  eventType: string;
  objectType: string;
  objectId: string | null;
}

export type RegistryJobData =
  /** Re-read one account (its fields, bundles, subscriptions) and update the registry. */
  | { kind: 'account'; tenantApiKey: string; accountId: string; cause: JobCause }
  /** Rebuild the registry of a tenant from all its accounts. */
  | { kind: 'reconcile'; tenantApiKey: string; cause: string };

export const REGISTRY_JOB_NAMES = { account: 'account', reconcile: 'reconcile' } as const;

/**
 * Kill Bill may be down for a while: back off up to about an hour in all. A job that still fails stays in
 * the failed set (never removed) with its ids and reason, for `bridge` or the dashboard to show and retry.
 */
export const REGISTRY_JOB_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: false,
};
