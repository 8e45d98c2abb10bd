import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { AxiosError } from 'axios';
import { freePort, waitFor } from '../support/wait.js';
import { SPEC_SHA256, sha256, specBytes } from './support/openapi-spec.js';
import { openApiSpec } from './support/spec-traffic.js';
import {
  createAccount,
  expectSpecConformance,
  raw,
  startHarness,
  type StandinHarness,
} from './support/standin-harness.js';

describe('Kill Bill stand-in: control surface, spec checks and the CLI', () => {
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

  it('makes the next N calls to a path answer 500, and adds latency', async () => {
    const t = await h.newTenant();
    h.standin.control.failNextApiCalls('/1.0/kb/accounts', 1, 'POST');
    const err = (await createAccount(t.kb).catch((e: unknown) => e)) as AxiosError;
    expect(err.response?.status).to.equal(500);
    await createAccount(t.kb);
    h.standin.control.setApiLatency(150);
    const started = Date.now();
    await t.kb.accounts.getAccounts();
    expect(Date.now() - started).to.be.at.least(140);
    h.standin.control.setApiLatency(0);
    expectSpecConformance(h.traffic);
  });

  it('offers the same controls over HTTP under /__standin, and resets state', async () => {
    const t = await h.newTenant();
    const fault = await raw(h.standin, 'POST', '/__standin/api/faults', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: '/1.0/healthcheck', count: 1 }),
    });
    expect(fault.status).to.equal(204);
    expect((await raw(h.standin, 'GET', '/1.0/healthcheck')).status).to.equal(500);
    expect((await raw(h.standin, 'GET', '/1.0/healthcheck')).status).to.equal(200);
    expect((await raw(h.standin, 'GET', '/__standin/notifications')).json()).to.be.an('array');
    expect((await raw(h.standin, 'POST', '/__standin/reset')).status).to.equal(204);
    expect((await raw(h.standin, 'GET', '/1.0/kb/accounts/pagination', { tenant: t })).status).to.equal(401);
  });

  it('runs on its own with --port, prints its URL, answers the healthcheck and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/killbill-standin/main.ts', '--port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor('the URL line', () => out.includes(`http://127.0.0.1:${port}`), { timeoutMs: 15_000 });
      expect(out.trim().split('\n')).to.have.length(1);
      const res = await fetch(`http://127.0.0.1:${port}/1.0/healthcheck`);
      expect(res.status).to.equal(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
  });
});
