import { expect } from 'chai';
import { formatCreditDescription, parseCreditDescription } from '../../src/metering/index.js';

const TID = 'osb1:3f1c2d9e-0000-4000-8000-000000000001:20240301T0500Z:1h:r2';

describe('credit descriptions (the idempotency key of a downward correction)', () => {
  it('round-trips a tracking id and unit type', () => {
    const text = formatCreditDescription(TID, 'openstack-billed-vcpus');
    expect(text).to.equal(`osb1-credit ${TID} openstack-billed-vcpus`);
    const parts = parseCreditDescription(text);
    expect(parts?.trackingId).to.equal(TID);
    expect(parts?.unitType).to.equal('openstack-billed-vcpus');
    expect(parts?.revision).to.equal(2);
    expect(parts?.windowStart.toISOString()).to.equal('2024-03-01T05:00:00.000Z');
  });

  it('ignores credits that are not ours and refuses to format a foreign id', () => {
    for (const d of [
      null,
      undefined,
      '',
      'goodwill',
      `osb1-credit ${TID}`,
      `osb1-credit x unit`,
      `osb1-credit ${TID} a b`,
    ]) {
      expect(parseCreditDescription(d), String(d)).to.equal(null);
    }
    expect(() => formatCreditDescription('not-ours', 'u')).to.throw(TypeError);
    expect(() => formatCreditDescription(TID, 'has space')).to.throw(TypeError);
  });
});
