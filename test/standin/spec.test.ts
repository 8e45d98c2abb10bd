import { expect } from 'chai';
import { SPEC_SHA256, sha256, specBytes } from './support/openapi-spec.js';
import { openApiSpec } from './support/spec-traffic.js';
import { startHarness, type StandinHarness } from './support/standin-harness.js';

describe('Kill Bill stand-in: spec checks', () => {
  let h: StandinHarness;

  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('ships the spec byte-identical to contracts/README.md (sha256)', () => {
    expect(sha256(specBytes())).to.equal(SPEC_SHA256);
  });

  it('flags calls outside the spec and bad responses, so conformance checks can fail', async () => {
    const t = await h.newTenant();
    await t.kb.axios.get(`${h.standin.url}/1.0/healthcheck`);
    await t.kb.axios.get(`${h.standin.url}/1.0/kb/accounts/pagination?bogus=1`).catch(() => undefined);
    const problems = h.traffic.take().map((v) => v.problem);
    expect(problems).to.include('no such path and method in killbill-openapi.json');
    expect(problems).to.include('query parameter bogus is not declared');
    expect(
      openApiSpec().validate({ $ref: '#/definitions/Account' }, { accountId: 'not-a-uuid' }),
    ).to.have.length(1);
  });
});
