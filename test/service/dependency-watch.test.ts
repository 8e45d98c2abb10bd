import { expect } from 'chai';
import { capturedLog } from '../support/captured-log.js';
import { DependencyWatch } from '../../src/app/dependency-watch.js';

const URL_WITH_PASSWORD = 'redis://:s3cr3t-pw@10.0.0.5:6379';

function watchWithClock() {
  const log = capturedLog('debug');
  const clock = { now: 0 };
  const watch = new DependencyWatch({
    logger: log.logger,
    reminderMs: 60_000,
    now: () => clock.now,
  });
  const lines = () => log.entries<{ level: string; event: string; msg: string }>();
  return { watch, lines, clock };
}

describe('DependencyWatch: one line per outage change, not per failed attempt', () => {
  it('says down once, reminds slowly, and says back once every connection is back', () => {
    const { watch, lines, clock } = watchWithClock();
    for (let i = 0; i < 20; i++) {
      clock.now = i * 2_000;
      watch.down('redis', URL_WITH_PASSWORD, 'connect ECONNREFUSED', 'api');
      watch.down('redis', URL_WITH_PASSWORD, 'connect ECONNREFUSED', 'worker');
    }
    expect(lines().map((l) => l.msg)).to.deep.equal([
      'Redis at redis://:****@10.0.0.5:6379 is unreachable (connect ECONNREFUSED); retrying every 5s',
    ]);
    clock.now = 61_000;
    watch.down('redis', URL_WITH_PASSWORD, 'connect ECONNREFUSED', 'api');
    expect(lines()[1]).to.deep.include({
      event: 'dependency.still_down',
      msg: 'Redis at redis://:****@10.0.0.5:6379 is unreachable (connect ECONNREFUSED), for 61s now; retrying every 5s',
    });
    expect(watch.problem('redis')).to.equal(
      'Redis at redis://:****@10.0.0.5:6379 is unreachable (connect ECONNREFUSED)',
    );

    clock.now = 90_000;
    watch.up('redis', 'api');
    expect(lines()).to.have.length(2); // the worker's connection still fails
    watch.up('redis', 'worker');
    expect(lines()[2]).to.deep.include({
      level: 'info',
      event: 'dependency.up',
      msg: 'Redis at redis://:****@10.0.0.5:6379 is reachable again (was unreachable for 90s)',
    });
    expect(watch.problem('redis')).to.equal(undefined);
    watch.up('redis', 'api');
    expect(lines()).to.have.length(3);
    expect(JSON.stringify(lines())).not.to.include('s3cr3t');
  });

  it('says a new reason once, and does not alternate between two', () => {
    const { watch, lines } = watchWithClock();
    const observe = watch.killBillObserver('http://kb:8080');
    for (let i = 0; i < 5; i++) {
      observe('ECONNREFUSED');
      observe('ETIMEDOUT');
    }
    expect(lines().map((l) => l.msg)).to.deep.equal([
      'Kill Bill at http://kb:8080 is unreachable (ECONNREFUSED); retrying with backoff until it answers',
      'Kill Bill at http://kb:8080 is unreachable (ETIMEDOUT); retrying with backoff until it answers',
    ]);
    observe(null);
    expect(lines().at(-1)!.msg).to.match(/^Kill Bill at http:\/\/kb:8080 is reachable again/);
  });
});
