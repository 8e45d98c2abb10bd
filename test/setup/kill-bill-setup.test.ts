import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { FIELD } from '../../src/registry/metered-subscription.js';
import type { KillBillStandin } from '../killbill-standin/index.js';
import { freePort } from '../support/wait.js';
import {
  CATALOG,
  PROJECT,
  createAccount,
  killBillApi,
  killBillState,
  runSetup,
  startStandin,
  statuses,
  withTempDir,
  writeCatalog,
} from './setup-harness.js';

describe('bridge setup against Kill Bill', function () {
  let kb: KillBillStandin;

  before(async () => {
    kb = await startStandin();
  });
  after(async () => {
    await kb?.close();
  });
  beforeEach(() => {
    kb.control.reset();
    // The callback points at no bridge; held deliveries keep the stand-in from trying it.
    kb.control.stopDelivery();
  });

  it('brings a fresh Kill Bill to what the bridge needs, then finds everything already done', async () => {
    const first = await runSetup(kb.url, { createTenant: true });
    expect(first.ok, JSON.stringify(first)).to.be.true;
    expect(statuses(first)).to.deep.equal({
      'Kill Bill': 'ok',
      tenant: 'done',
      catalog: 'done',
      callback: 'done',
    });
    const accountId = await createAccount(kb.url);
    const linked = await runSetup(kb.url, {
      account: accountId,
      project: PROJECT,
      metrics: 'instance,vcpus',
    });
    expect(statuses(linked)).to.deep.include({ 'account fields': 'done', subscription: 'done' });
    const before = await killBillState(kb.url, accountId);

    const second = await runSetup(kb.url, {
      createTenant: true,
      account: accountId,
      project: PROJECT,
      metrics: 'instance,vcpus',
    });
    expect(second.ok).to.be.true;
    expect(statuses(second)).to.deep.equal({
      'Kill Bill': 'ok',
      tenant: 'already-done',
      catalog: 'already-done',
      callback: 'already-done',
      'account fields': 'already-done',
      subscription: 'already-done',
    });
    expect(await killBillState(kb.url, accountId)).to.deep.equal(before);
  });

  it('leaves Kill Bill as it was on a dry run, saying what it would do', async () => {
    const empty = await killBillState(kb.url);
    const fresh = await runSetup(kb.url, { createTenant: true, dryRun: true });
    expect(fresh.ok).to.be.true;
    expect(statuses(fresh)).to.deep.equal({
      'Kill Bill': 'ok',
      tenant: 'would-do',
      catalog: 'would-do',
      callback: 'would-do',
    });
    expect(await killBillState(kb.url)).to.deep.equal(empty);

    kb.createTenant('bob', 'lazar');
    const accountId = await createAccount(kb.url);
    const before = await killBillState(kb.url, accountId);
    const dry = await runSetup(kb.url, { account: accountId, project: PROJECT, dryRun: true });
    expect(statuses(dry)).to.deep.equal({
      'Kill Bill': 'ok',
      catalog: 'would-do',
      callback: 'would-do',
      'account fields': 'would-do',
      subscription: 'would-do',
    });
    expect(dry.steps.find((s) => s.step === 'account fields')!.detail).to.include(
      `add ${FIELD.projectId}=${PROJECT}`,
    );
    expect(await killBillState(kb.url, accountId)).to.deep.equal(before);
    expect(kb.control.notifications()).to.have.length(0);
  });

  it('adds missing fields, updates a differing one in place, and drops a conflicting duplicate', async () => {
    kb.createTenant('bob', 'lazar');
    const accountId = await createAccount(kb.url);
    const api = killBillApi(kb.url);
    const json = { headers: { 'Content-Type': 'application/json' } };
    await api.post(
      `/accounts/${accountId}/customFields`,
      [
        { name: FIELD.projectId, value: 'ffffffffffffffffffffffffffffffff' },
        { name: FIELD.projectId, value: 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee' },
        { name: FIELD.metrics, value: 'vcpus' },
      ],
      json,
    );
    const before = (await api.get(`/accounts/${accountId}/customFields`)).data as Array<{
      customFieldId: string;
      name: string;
    }>;

    const report = await runSetup(kb.url, { account: accountId, project: PROJECT.toUpperCase() });
    expect(report.ok, JSON.stringify(report)).to.be.true;
    const fields = (await api.get(`/accounts/${accountId}/customFields`)).data as Array<{
      customFieldId: string;
      name: string;
      value: string;
    }>;
    const byName = (name: string) => fields.filter((f) => f.name === name).map((f) => f.value);
    expect(byName(FIELD.enabled)).to.deep.equal(['true']);
    expect(byName(FIELD.projectId)).to.deep.equal([PROJECT]);
    // Without --metrics the account keeps its own choice.
    expect(byName(FIELD.metrics)).to.deep.equal(['vcpus']);
    const keptId = before.find((f) => f.name === FIELD.projectId)!.customFieldId;
    expect(fields.find((f) => f.name === FIELD.projectId)!.customFieldId).to.equal(keptId);
  });

  it('keeps an existing subscription on the plan instead of adding a second one', async () => {
    kb.createTenant('bob', 'lazar');
    await runSetup(kb.url, {});
    const accountId = await createAccount(kb.url);
    const created = await killBillApi(kb.url).post(
      '/subscriptions',
      { accountId, planName: 'openstack-standard-monthly' },
      { headers: { 'Content-Type': 'application/json' } },
    );
    expect(created.status).to.equal(201);
    const report = await runSetup(kb.url, { account: accountId, project: PROJECT });
    expect(statuses(report).subscription).to.equal('already-done');
    const bundles = (await killBillApi(kb.url).get(`/accounts/${accountId}/bundles`)).data as unknown[];
    expect(bundles).to.have.length(1);
  });

  it('finds its catalog version even when a later version is in Kill Bill too', async () => {
    kb.createTenant('bob', 'lazar');
    await runSetup(kb.url, {});
    const xml = await readFile(CATALOG, 'utf8');
    await withTempDir(async (dir) => {
      const later = await writeCatalog(
        dir,
        'later.xml',
        xml.replace(
          /<effectiveDate>[^<]*<\/effectiveDate>/,
          '<effectiveDate>2024-06-01T00:00:00Z</effectiveDate>',
        ),
      );
      expect(statuses(await runSetup(kb.url, { catalog: later })).catalog).to.equal('done');
      expect(statuses(await runSetup(kb.url, { catalog: later })).catalog).to.equal('already-done');
    });
    expect(statuses(await runSetup(kb.url, {})).catalog).to.equal('already-done');
  });

  describe('failures: one line, the run stops there', () => {
    const failure = (report: Awaited<ReturnType<typeof runSetup>>) => {
      expect(report.ok).to.be.false;
      const last = report.steps[report.steps.length - 1]!;
      expect(last.status).to.equal('failed');
      expect(last.detail).not.to.match(/[\r\n]/);
      return last;
    };

    it('a catalog file that cannot be used, before anything is written', async () => {
      await withTempDir(async (dir) => {
        const cases: Array<[string, string, RegExp]> = [
          ['not-xml.xml', 'this is not xml', /not XML/],
          ['empty.xml', '', /empty/],
          ['no-name.xml', '<catalog><effectiveDate>2024-01-01</effectiveDate></catalog>', /no <catalogName>/],
          ['no-date.xml', '<catalog><catalogName>X</catalogName></catalog>', /no <effectiveDate>/],
          [
            'bad-date.xml',
            '<catalog><catalogName>X</catalogName><effectiveDate>soon</effectiveDate></catalog>',
            /not a date/,
          ],
          ['other-root.xml', '<plans/>', /no <catalog> root/],
        ];
        for (const [name, xml, reason] of cases) {
          const path = await writeCatalog(dir, name, xml);
          const report = await runSetup(kb.url, { createTenant: true, catalog: path });
          expect(report.steps, name).to.have.length(1);
          const last = failure(report);
          expect(last.step).to.equal('catalog');
          expect(last.detail, name).to.match(reason).and.include(path);
        }
        const missing = failure(await runSetup(kb.url, { catalog: `${dir}/missing.xml` }));
        expect(missing.detail).to.include('cannot read it (ENOENT)');
      });
      expect(await killBillState(kb.url)).to.deep.equal({ tenant: 404 });
    });

    it('a catalog Kill Bill refuses (400), with its reason', async () => {
      kb.createTenant('bob', 'lazar');
      await runSetup(kb.url, {});
      const xml = await readFile(CATALOG, 'utf8');
      await withTempDir(async (dir) => {
        const renamed = await writeCatalog(
          dir,
          'renamed.xml',
          xml
            .replace('<catalogName>OpenstackBridge</catalogName>', '<catalogName>Other</catalogName>')
            .replace(/<effectiveDate>[^<]*</, '<effectiveDate>2025-01-01T00:00:00Z<'),
        );
        const last = failure(await runSetup(kb.url, { catalog: renamed }));
        expect(last.step).to.equal('catalog');
        expect(last.detail).to.match(/^Kill Bill refused .*renamed\.xml: .*does not match/);
      });
    });

    it('Kill Bill unreachable', async () => {
      const port = await freePort();
      const last = failure(await runSetup(`http://127.0.0.1:${port}`, { createTenant: true }));
      expect(last.step).to.equal('Kill Bill');
      expect(last.detail).to.equal(
        `cannot reach Kill Bill at http://127.0.0.1:${port}: no answer (ECONNREFUSED)`,
      );
    });

    it('wrong credentials: user, tenant secret, or no such tenant', async () => {
      kb.createTenant('bob', 'lazar');
      const user = failure(await runSetup(kb.url, {}, { KILLBILL_PASSWORD: 'not-the-password' }));
      expect(user.detail).to.match(/^wrong credentials: .*refused user "admin" \(401\)$/);
      const secret = failure(
        await runSetup(kb.url, { createTenant: true }, { KILLBILL_API_SECRET: 'wrong' }),
      );
      expect(secret.detail).to.equal(
        'wrong credentials: Kill Bill refused the API secret of tenant "bob" (401)',
      );
      const tenant = failure(await runSetup(kb.url, {}, { KILLBILL_API_KEY: 'alice' }));
      expect(tenant.detail).to.match(/^wrong credentials: Kill Bill has no tenant with API key "alice"/);
      for (const r of [user, secret, tenant]) expect(r.detail).not.to.match(/not-the-password|lazar|wrong"/);
    });

    it('an account Kill Bill does not have', async () => {
      kb.createTenant('bob', 'lazar');
      const id = '00000000-0000-4000-8000-000000000000';
      const last = failure(await runSetup(kb.url, { account: id, project: PROJECT }));
      expect(last.step).to.equal('account fields');
      expect(last.detail).to.equal(`Kill Bill has no account ${id} in tenant "bob"`);
    });
  });
});
