import { expect } from 'chai';
import { UnrecoverableError } from 'bullmq';
import {
  BridgeError,
  ConfigError,
  errorIds,
  HeatStackNotFoundError,
  InvalidRateError,
  isRetryable,
  KillBillError,
  OpenStackAuthError,
  OpenStackRequestError,
  RatingEndpointNotFoundError,
  SubscriptionBusyError,
  SubscriptionLockLostError,
  SubscriptionSyncError,
  SummaryUnstableError,
  SyncInvariantError,
  TenantNotConfiguredError,
  UnreachableError,
} from '../../src/errors/index.js';
import { parseRate } from '../../src/metering/index.js';
import { failureFields, jobFailure } from '../../workers/job-failure.js';

const request = (status: number | undefined) =>
  new OpenStackRequestError({ method: 'GET', url: 'http://ck/v2/summary', status, attempts: 1 });
const synced = { subscriptionId: 'sub-1', records: 2 };

describe('errors: one base, retryable or not, with the ids to act on (docs/architecture.md)', () => {
  it('names each error by its class, and each is a BridgeError', () => {
    const errors: Array<[BridgeError, string]> = [
      [new ConfigError([]), 'ConfigError'],
      [new TenantNotConfiguredError('t1'), 'TenantNotConfiguredError'],
      [new RatingEndpointNotFoundError({ interface: 'public' }, []), 'RatingEndpointNotFoundError'],
      [
        new OpenStackAuthError({ method: 'POST', url: 'http://ks', status: 401, attempts: 1 }),
        'OpenStackAuthError',
      ],
      [
        new HeatStackNotFoundError({ method: 'GET', url: 'http://heat', status: 404, attempts: 1 }),
        'HeatStackNotFoundError',
      ],
      [new SubscriptionBusyError('t1', 'sub-1', 5), 'SubscriptionBusyError'],
      [new SubscriptionSyncError('t1', synced, new Error('x')), 'SubscriptionSyncError'],
    ];
    for (const [err, name] of errors) {
      expect(err, name).to.be.instanceOf(BridgeError);
      expect(err.name).to.equal(name);
    }
  });

  it('input, metering rules and refusals are not retryable; no answer, 5xx, locks and unstable summaries are', () => {
    const rule = (() => {
      try {
        parseRate('not a number');
      } catch (err) {
        return err;
      }
    })();
    expect(rule).to.be.instanceOf(InvalidRateError);
    expect(isRetryable(rule)).to.equal(false);
    expect(isRetryable(new ConfigError([]))).to.equal(false);
    expect(isRetryable(new TenantNotConfiguredError('t1'))).to.equal(false);
    expect(isRetryable(new SyncInvariantError('a bug'))).to.equal(false);
    expect([400, 401, 404, 409].map((s) => isRetryable(request(s)))).to.deep.equal([
      false,
      false,
      false,
      false,
    ]);
    expect([undefined, 200, 408, 429, 500, 503].map((s) => isRetryable(request(s)))).to.deep.equal([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(isRetryable(new KillBillError('record usage', '400 bad', 400, null, false))).to.equal(false);
    expect(isRetryable(new UnreachableError('redis', 'redis://h:6379', 'connect ECONNREFUSED'))).to.equal(
      true,
    );
    expect(isRetryable(new SummaryUnstableError('rated meanwhile'))).to.equal(true);
    expect(isRetryable(new SubscriptionLockLostError('t1', 'sub-1'))).to.equal(true);
    expect(isRetryable(new Error('an unnamed failure'))).to.equal(true);
  });

  it('a subscription’s sync failure is retryable as its cause, and carries the ids of both', () => {
    const refused = new KillBillError('record usage', '400 bad', 400, null, false, undefined, {
      ids: { window: '2025-06-01T00:00:00.000Z' },
    });
    const err = new SubscriptionSyncError('t1', synced, refused, { accountId: 'acc-1' });
    expect(err.retryable).to.equal(false);
    expect(err.cause).to.equal(refused);
    expect(err.result).to.deep.equal({ ...synced, error: refused.message });
    expect(errorIds(err)).to.deep.equal({
      tenant: 't1',
      accountId: 'acc-1',
      subscriptionId: 'sub-1',
      window: '2025-06-01T00:00:00.000Z',
    });
    const busy = new SubscriptionSyncError('t1', synced, new SubscriptionBusyError('t1', 'sub-1', 5));
    expect(busy.retryable).to.equal(true);
  });

  it('a worker fails at once what is not retryable, keeping the ids for its log line', () => {
    const refused = new SubscriptionSyncError('t1', synced, request(403), { accountId: 'acc-1' });
    const failure = jobFailure(refused);
    expect(failure).to.be.instanceOf(UnrecoverableError);
    expect((failure as Error).message).to.equal(refused.message);
    expect(failureFields(failure as Error)).to.deep.equal({
      tenant: 't1',
      accountId: 'acc-1',
      subscriptionId: 'sub-1',
      err: refused.message,
    });
    const busy = new SubscriptionBusyError('t1', 'sub-1', 5);
    expect(jobFailure(busy)).to.equal(busy);
    const plain = new Error('connect ECONNREFUSED');
    expect(jobFailure(plain)).to.equal(plain);
    expect(failureFields(plain)).to.deep.equal({ err: 'connect ECONNREFUSED' });
  });
});
