import { expect } from 'chai';
import { CENSOR, redactSecrets } from '../../src/logging/secret-redaction.js';
import { capturedLog } from '../support/captured-log.js';

describe('secret redaction', () => {
  it('hands back a line without secrets as the very same object', () => {
    const line = { event: 'sync.usage_recorded', cents: { 'openstack-billed-vcpus': 12 }, ids: ['a', 'b'] };
    expect(redactSecrets(line)).to.equal(line);
  });

  it('censors secret keys at any depth and in any case, and leaves the original untouched', () => {
    const line = {
      event: 'x',
      tenants: [{ apiKey: 'bob', apiSecret: 's1' }],
      request: { headers: { 'X-Killbill-ApiSecret': 's2', Authorization: 'Basic s3', accept: 'json' } },
      keystone: { auth: { a: { b: { password: 's4' } } } },
      callbackToken: 's5',
    };
    const out = redactSecrets(line) as typeof line;
    expect(out.tenants).to.deep.equal([{ apiKey: 'bob', apiSecret: CENSOR }]);
    expect(out.request.headers).to.deep.equal({
      'X-Killbill-ApiSecret': CENSOR,
      Authorization: CENSOR,
      accept: 'json',
    });
    expect(out.keystone.auth.a.b.password).to.equal(CENSOR);
    expect(out.callbackToken).to.equal(CENSOR);
    expect(line.tenants[0]!.apiSecret).to.equal('s1');
    expect(line.request.headers.Authorization).to.equal('Basic s3');
  });

  it('censors what an error carries and still writes its type, message and stack', () => {
    const { lines, logger } = capturedLog();
    const err = Object.assign(new TypeError('kill bill said no'), {
      config: { headers: { 'X-Killbill-ApiSecret': 'err-secret' } },
    });
    const inner = Object.assign(new Error('socket hang up'), {
      config: { headers: { 'X-Auth-Token': 'cause-secret' } },
    });
    const outer = new Error('keystone failed', { cause: inner });
    logger.error({ err, token: 'line-secret' }, 'call failed');
    logger.error({ err: outer, error: outer }, 'call failed');
    logger.child({ tenant: 'bob', callbackToken: 'bound-secret' }).child({}).info('from a grandchild');
    expect(lines).to.have.length(3);
    for (const s of ['err-secret', 'cause-secret', 'bound-secret']) expect(lines.join('')).not.to.include(s);
    expect(lines[1]).to.include('socket hang up');
    expect(JSON.parse(lines[2]!)).to.include({ tenant: 'bob', callbackToken: CENSOR });
    const line = JSON.parse(lines[0]!) as { err: Record<string, unknown>; token: string };
    expect(line.token).to.equal(CENSOR);
    expect(line.err).to.include({ type: 'TypeError', message: 'kill bill said no' });
    expect(line.err.stack).to.be.a('string').and.include('kill bill said no');
  });
});
