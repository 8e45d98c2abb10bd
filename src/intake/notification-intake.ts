import { hash, timingSafeEqual } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from '../logging/logger.js';
import { BatchedAdds } from '../jobs/batched-adds.js';
import { REGISTRY_JOB_NAMES, REGISTRY_JOB_OPTIONS, type RegistryJobData } from '../jobs/registry-jobs.js';
import { notificationKey, parseNotification, type Notification } from './notification.js';
import type { CallbackTokens } from './callback-token.js';
import type { IntakeMetrics } from './intake-metrics.js';

export interface IntakeAnswer {
  status: number;
  body: Record<string, unknown>;
}

export interface NotificationIntakeOptions {
  /** The registry queue, on a producer connection (fails at once while Redis is away). */
  queue: Queue<RegistryJobData>;
  /** API key of the tenant served at the plain path. */
  defaultTenant: string;
  /** API keys of every tenant served (the default one included). */
  tenants: Iterable<string>;
  /** The secret each tenant's `?token=` must carry. */
  tokens: Pick<CallbackTokens, 'expected'>;
  metrics: IntakeMetrics;
  logger: Logger;
  /** Longest wait for Redis to take a job before answering 503. Default 5 000 ms. */
  enqueueTimeoutMs?: number;
}

export interface IncomingNotification {
  rawBody: string;
  body: unknown;
}

/** Who sent a request whose token {@link NotificationIntake.checkToken} accepted; only it makes one. */
export interface Caller {
  /** From the path; undefined for the default tenant's path. */
  readonly tenantApiKey: string | undefined;
  readonly [tokenChecked]: true;
}
declare const tokenChecked: unique symbol;

export type TokenCheck = { caller: Caller; refused?: undefined } | { refused: IntakeAnswer };

function digest(s: string): Buffer {
  return hash('sha256', s, 'buffer');
}

/**
 * The intake's core, free of any HTTP framework: checks a notification and puts it durably in the queue.
 * It answers 200 only once Redis has the job, so a notification is either queued or retried by Kill Bill.
 */
export class NotificationIntake {
  private readonly tenants: Set<string>;
  /** Notifications arriving together share one pipeline to Redis; each is still answered only once it holds its job. */
  private readonly adds: BatchedAdds<RegistryJobData>;
  /** Each expected token's digest, made once: one token per tenant, and it never changes. */
  private readonly expectedDigests = new Map<string, Buffer>();

  constructor(private readonly options: NotificationIntakeOptions) {
    this.tenants = new Set(options.tenants);
    this.tenants.add(options.defaultTenant);
    this.adds = new BatchedAdds(options.queue, { timeoutMs: options.enqueueTimeoutMs ?? 5_000 });
  }

  /**
   * The caller when `token` is the tenant's, else the answer to give before the body is read. A tenant that
   * is not served has no token of its own; the default tenant's stands in, so without a token nobody
   * learns which tenants exist (401 before 404). A refusal is counted here: the HTTP handler asks before it
   * reads the body, so `accept` never sees those notifications.
   */
  async checkToken(token: unknown, tenantApiKey?: string): Promise<TokenCheck> {
    const { tokens, defaultTenant, logger, metrics } = this.options;
    const tenant =
      tenantApiKey !== undefined && this.tenants.has(tenantApiKey) ? tenantApiKey : defaultTenant;
    let expected: string | undefined;
    try {
      expected = await tokens.expected(tenant);
    } catch (err) {
      logger.error(
        { event: 'intake.token_unavailable', tenant, err: (err as Error).message },
        'cannot read the callback token from Redis; answering 503 so Kill Bill retries',
      );
      metrics.count('unknown', 'unavailable');
      return {
        refused: { status: 503, body: { error: 'cannot check the callback token now; retry later' } },
      };
    }
    // Constant-time: hashing first makes both sides the same length whatever was sent.
    if (
      expected !== undefined &&
      typeof token === 'string' &&
      timingSafeEqual(digest(token), this.digestOfExpected(expected))
    ) {
      return { caller: { tenantApiKey } as Caller };
    }
    metrics.count('unknown', 'unauthorized');
    return { refused: { status: 401, body: { error: 'missing or wrong callback token' } } };
  }

  private digestOfExpected(expected: string): Buffer {
    let known = this.expectedDigests.get(expected);
    if (!known) this.expectedDigests.set(expected, (known = digest(expected)));
    return known;
  }

  /** A body refused before it could be read as a notification (not JSON, too large, wrong type). */
  rejectedUnread(): void {
    this.options.metrics.count('invalid', 'rejected');
  }

  /** The body of a request whose token was checked (once, before its body was read). */
  async accept(caller: Caller, incoming: IncomingNotification): Promise<IntakeAnswer> {
    const { metrics, logger } = this.options;
    const tenant = caller.tenantApiKey ?? this.options.defaultTenant;
    if (!this.tenants.has(tenant)) {
      metrics.count('unknown', 'unknown_tenant');
      return { status: 404, body: { error: 'no such tenant is configured' } };
    }
    const parsed = parseNotification(incoming.body);
    if (!parsed.ok) {
      metrics.count('invalid', 'rejected');
      logger.warn({ event: 'intake.rejected', tenant, reason: parsed.reason }, 'notification rejected');
      return { status: 400, body: { error: 'malformed notification', reason: parsed.reason } };
    }
    const { notification: n, action } = parsed;
    if (!parsed.known) return this.ignoreUnknown(tenant, n);
    if (action === 'ignore') {
      metrics.count(n.eventType, 'ignored');
      return { status: 200, body: { status: 'ignored', eventType: n.eventType } };
    }
    return this.queue(tenant, n, registryJob(tenant, n, action), notificationKey(tenant, incoming.rawBody));
  }

  private ignoreUnknown(tenant: string, n: Notification): IntakeAnswer {
    // Labelled 'unknown', not by name: event type labels must stay a bounded set.
    this.options.metrics.count('unknown', 'ignored');
    this.options.logger.warn(
      { event: 'intake.unknown_event_type', tenant, eventType: n.eventType, objectType: n.objectType },
      'notification of an event type this bridge does not know; acknowledged and ignored',
    );
    return {
      status: 200,
      body: { status: 'ignored', eventType: n.eventType, reason: 'unknown event type' },
    };
  }

  /** 200 once Redis holds the job, 503 when it cannot take it so Kill Bill retries. */
  private async queue(
    tenant: string,
    n: Notification,
    data: RegistryJobData,
    key: string,
  ): Promise<IntakeAnswer> {
    const { metrics, logger } = this.options;
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    try {
      const job = await this.enqueue(data, key);
      metrics.enqueued(took(), 'queued');
      metrics.count(n.eventType, 'queued');
      logger.info(
        {
          event: 'intake.queued',
          tenant,
          eventType: n.eventType,
          accountId: n.accountId,
          objectId: n.objectId,
          jobId: job,
        },
        'notification queued',
      );
      return { status: 200, body: { status: 'queued', jobId: job } };
    } catch (err) {
      metrics.enqueued(took(), 'unavailable');
      metrics.count(n.eventType, 'unavailable');
      logger.error(
        { event: 'intake.unavailable', tenant, eventType: n.eventType, err: (err as Error).message },
        'could not queue notification; answering 503 so Kill Bill retries',
      );
      return { status: 503, body: { error: 'cannot queue the notification now; retry later' } };
    }
  }

  private enqueue(data: RegistryJobData, key: string): Promise<string> {
    // Deduplication, not a fixed job id: Kill Bill bodies carry no timestamp, so a later real change can
    // look exactly like an earlier event; it must not be swallowed once the first job has run.
    return this.adds.add(REGISTRY_JOB_NAMES[data.kind], data, {
      ...REGISTRY_JOB_OPTIONS,
      deduplication: { id: key, keepLastIfActive: true },
    });
  }
}

/** The registry's job for a notification that changes what is metered. */
function registryJob(tenant: string, n: Notification, action: 'registry' | 'reconcile'): RegistryJobData {
  return action === 'reconcile'
    ? { kind: 'reconcile', tenantApiKey: tenant, cause: `${n.eventType} ${JSON.stringify(n.metaData)}` }
    : {
        kind: 'account',
        tenantApiKey: tenant,
        accountId: n.accountId!,
        cause: { eventType: n.eventType, objectType: n.objectType, objectId: n.objectId },
      };
}
