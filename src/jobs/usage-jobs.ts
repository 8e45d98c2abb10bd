import type { JobsOptions } from 'bullmq';

export type UsageJobData =
  /** A sync run: decide each subscription's range, pull CloudKitty once, fan out. */
  | { kind: 'tick'; mode: 'new' | 'recheck' }
  /** One subscription's share of a run, reading the run's pulled usage from Redis. */
  | {
      kind: 'subscription';
      run: string;
      tenantApiKey: string;
      subscriptionId: string;
      from: string;
      to: string;
      now: string;
    };

/** Kill Bill or CloudKitty may be away for a while; a job that still fails stays in the failed set. */
export const USAGE_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: false,
};
