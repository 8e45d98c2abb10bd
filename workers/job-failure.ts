import { UnrecoverableError } from 'bullmq';
import { errorIds, isRetryable, type ErrorIds } from '../src/errors/index.js';

/**
 * What a processor throws for a failure, by the error's `retryable`: one a retry cannot fix (a request
 * Kill Bill refuses, a metering rule, a setting) becomes BullMQ's UnrecoverableError, which fails the job
 * at once and keeps it in the failed set; the rest are retried with backoff. The original stays as the
 * cause, so the failure's log line still carries its ids.
 */
export function jobFailure(err: unknown): unknown {
  if (isRetryable(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new UnrecoverableError(message), { cause: err });
}

/** A failed job's log fields: the ids of the error and its causes, and its message (never a secret). */
export function failureFields(err: Error): ErrorIds & { err: string } {
  return { ...errorIds(err), err: err.message };
}
