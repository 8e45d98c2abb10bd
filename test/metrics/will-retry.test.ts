import { expect } from 'chai';
import { UnrecoverableError, type Job } from 'bullmq';
import { willRetry } from '../../src/metrics/queue-metrics.js';

/** A job as BullMQ hands it to a worker's 'failed' event: the attempts made so far, the attempts allowed. */
const job = (attemptsMade: number, attempts?: number) => ({ attemptsMade, opts: { attempts } }) as Job;

class ParkedAccountError extends UnrecoverableError {}

describe('willRetry: the verdict BullMQ gives a failed job, without loading BullMQ', () => {
  it('retries an ordinary error while attempts are left, and not after the last', () => {
    expect(willRetry(job(1, 3), new Error('Kill Bill timed out'))).to.equal(true);
    expect(willRetry(job(3, 3), new Error('Kill Bill timed out'))).to.equal(false);
    expect(willRetry(job(1), new Error('no attempts configured'))).to.equal(false);
  });

  it('never retries an UnrecoverableError, nor an error of a class derived from it', () => {
    const derived = new ParkedAccountError('account parked');
    expect(derived.name).to.equal('ParkedAccountError');
    expect(willRetry(job(1, 3), new UnrecoverableError('bad notification'))).to.equal(false);
    expect(willRetry(job(1, 3), derived)).to.equal(false);
  });

  it('never retries an error named UnrecoverableError by another copy of BullMQ', () => {
    const foreign = Object.assign(new Error('from another bullmq'), { name: 'UnrecoverableError' });
    expect(willRetry(job(1, 3), foreign)).to.equal(false);
  });

  it('says no retry when the job is gone', () => {
    expect(willRetry(undefined, new Error('lost'))).to.equal(false);
  });
});
