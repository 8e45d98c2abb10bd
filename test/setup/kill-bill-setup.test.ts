import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { FIELD } from '../../src/registry/metered-subscription.js';
import type { SetupInput } from '../../src/setup/setup-request.js';
import { freePort } from '../support/wait.js';
import {
  CATALOG,
  PROJECT,
  SetupBench,
  createAccount,
  killBillApi,
  killBillState,
  runSetup,
  statuses,
  type SetupTarget,
  withTempDir,
  writeCatalog,
} from './setup-harness.js';

describe('bridge setup against Kill Bill (real Kill Bill)', function () {
  this.timeout(60_000);
  let bench: SetupBench;
  const setup = (target: SetupTarget, input: SetupInput, env: Record<string, string> = {}) =>
    runSetup(bench, target, input, env);

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    bench = await SetupBench.start();
  });
  after(async () => {
    await bench?.close();
  });

  it('brings a fresh Kill Bill to what the bridge needs, then finds everything already done', async () => {
    const kb = bench.newKeys();
    const first = await setup(kb, { createTenant: true });
    expect(first.ok, JSON.stringify(first)).to.be.true;
    expect(statuses(first)).to.deep.equal({
      'Kill Bill': 'ok',
      tenant: 'done',
      catalog: 'done',
      callback: 'done',
    });
    const accountId = await createAccount(kb);
    const linked = await setup(kb, {
      account: accountId,
      project: PROJECT,
      metrics: 'instance,vcpus',
    });
    expect(statuses(linked)).to.deep.include({ 'account fields': 'done', subscription: 'done' });
    const before = await killBillState(kb, accountId);

    const second = await setup(kb, {
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
    expect(await killBillState(kb, accountId)).to.deep.equal(before);
  });

  it('uploads the catalog of a tenant that has none (Kill Bill 0.22 answers its read with a 500)', async () => {
    const kb = await bench.newTenant();
    const dry = await setup(kb, { dryRun: true });
    expect(dry.ok, JSON.stringify(dry)).to.be.true;
    expect(dry.steps.find((s) => s.step === 'catalog')).to.deep.equal({
      step: 'catalog',
      status: 'would-do',
      detail: 'upload OpenstackBridge effective 2024-01-01T00:00:00.000Z',
    });
    const report = await setup(kb, {});
    expect(report.ok, JSON.stringify(report)).to.be.true;
    expect(statuses(report).catalog).to.equal('done');
    const catalog = (await killBillApi(kb).get('/catalog')).data as Array<{ name: string }>;
    expect(catalog.map((c) => c.name)).to.deep.equal(['OpenstackBridge']);
    expect(statuses(await setup(kb, {})).catalog).to.equal('already-done');
  });

  it('leaves Kill Bill as it was on a dry run, saying what it would do', async () => {
    const keys = bench.newKeys();
    const empty = await killBillState(keys);
    const fresh = await setup(keys, { createTenant: true, dryRun: true });
    expect(fresh.ok).to.be.true;
    expect(statuses(fresh)).to.deep.equal({
      'Kill Bill': 'ok',
      tenant: 'would-do',
      catalog: 'would-do',
      callback: 'would-do',
    });
    expect(await killBillState(keys)).to.deep.equal(empty);

    const kb = await bench.newTenant();
    const accountId = await createAccount(kb);
    const before = await killBillState(kb, accountId);
    const dry = await setup(kb, { account: accountId, project: PROJECT, dryRun: true });
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
    // Drained queues (killBillState): had the dry run registered the callback, the account's creation
    // would be pushed to it by now.
    expect(await killBillState(kb, accountId)).to.deep.equal(before);
    expect(bench.pushedAbout(accountId)).to.have.length(0);
  });

  it('adds missing fields, updates a differing one in place, and drops a conflicting duplicate', async () => {
    const kb = await bench.newTenant();
    const accountId = await createAccount(kb);
    const api = killBillApi(kb);
    const json = { headers: { 'Content-Type': 'application/json' } };
    const added = await api.post(
      `/accounts/${accountId}/customFields`,
      [
        { name: FIELD.projectId, value: 'ffffffffffffffffffffffffffffffff' },
        { name: FIELD.projectId, value: 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee' },
        { name: FIELD.metrics, value: 'vcpus' },
      ],
      json,
    );
    expect(added.status, JSON.stringify(added.data)).to.equal(201);
    const before = (await api.get(`/accounts/${accountId}/customFields`)).data as Array<{
      customFieldId: string;
      name: string;
    }>;

    const report = await setup(kb, { account: accountId, project: PROJECT.toUpperCase() });
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
    const kb = await bench.newTenant();
    await setup(kb, {});
    const accountId = await createAccount(kb);
    const created = await killBillApi(kb).post(
      '/subscriptions',
      { accountId, planName: 'openstack-standard-monthly' },
      { headers: { 'Content-Type': 'application/json' } },
    );
    expect(created.status, JSON.stringify(created.data)).to.equal(201);
    const report = await setup(kb, { account: accountId, project: PROJECT });
    expect(statuses(report).subscription).to.equal('already-done');
    const bundles = (await killBillApi(kb).get(`/accounts/${accountId}/bundles`)).data as unknown[];
    expect(bundles).to.have.length(1);
  });

  it('finds its catalog version even when a later version is in Kill Bill too', async () => {
    const kb = await bench.newTenant();
    await setup(kb, {});
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
      expect(statuses(await setup(kb, { catalog: later })).catalog).to.equal('done');
      expect(statuses(await setup(kb, { catalog: later })).catalog).to.equal('already-done');
    });
    expect(statuses(await setup(kb, {})).catalog).to.equal('already-done');
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
      const kb = bench.newKeys();
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
          const report = await setup(kb, { createTenant: true, catalog: path });
          expect(report.steps, name).to.have.length(1);
          const last = failure(report);
          expect(last.step).to.equal('catalog');
          expect(last.detail, name).to.match(reason).and.include(path);
        }
        const missing = failure(await setup(kb, { catalog: `${dir}/missing.xml` }));
        expect(missing.detail).to.include('cannot read it (ENOENT)');
      });
      expect(await killBillState(kb)).to.deep.equal({ tenant: 'none' });
    });

    it('a catalog Kill Bill refuses (400), with its reason', async () => {
      const kb = await bench.newTenant();
      await setup(kb, {});
      const xml = await readFile(CATALOG, 'utf8');
      await withTempDir(async (dir) => {
        const renamed = await writeCatalog(
          dir,
          'renamed.xml',
          xml
            .replace('<catalogName>OpenstackBridge</catalogName>', '<catalogName>Other</catalogName>')
            .replace(/<effectiveDate>[^<]*</, '<effectiveDate>2025-01-01T00:00:00Z<'),
        );
        const last = failure(await setup(kb, { catalog: renamed }));
        expect(last.step).to.equal('catalog');
        // Kill Bill 0.22.26's reason for a catalog whose name is not the tenant's (code 2080).
        expect(last.detail).to.match(/^Kill Bill refused .*renamed\.xml: Invalid catalog for tenant/);
      });
    });

    it('Kill Bill unreachable', async () => {
      const port = await freePort();
      const nowhere = { ...bench.newKeys(), url: `http://127.0.0.1:${port}` };
      const last = failure(await setup(nowhere, { createTenant: true }));
      expect(last.step).to.equal('Kill Bill');
      expect(last.detail).to.equal(
        `cannot reach Kill Bill at http://127.0.0.1:${port}: no answer (ECONNREFUSED)`,
      );
    });

    it('wrong credentials: user, tenant secret, or no such tenant', async () => {
      const kb = await bench.newTenant();
      const user = failure(await setup(kb, {}, { KILLBILL_PASSWORD: 'not-the-password' }));
      expect(user.detail).to.match(/^wrong credentials: .*refused user "admin" \(401\)$/);
      const secret = failure(await setup(kb, { createTenant: true }, { KILLBILL_API_SECRET: 'wrong' }));
      expect(secret.detail).to.equal(
        `wrong credentials: Kill Bill refused the API secret of tenant "${kb.apiKey}" (401)`,
      );
      const { apiKey: unknown } = bench.newKeys();
      const tenant = failure(await setup(kb, {}, { KILLBILL_API_KEY: unknown }));
      expect(tenant.detail).to.match(
        new RegExp(`^wrong credentials: Kill Bill has no tenant with API key "${unknown}"`),
      );
      for (const r of [user, secret, tenant])
        expect(r.detail).not.to.match(new RegExp(`not-the-password|${kb.apiSecret}|wrong"`));
    });

    it('an account Kill Bill does not have', async () => {
      const kb = await bench.newTenant();
      const id = '00000000-0000-4000-8000-000000000000';
      const last = failure(await setup(kb, { account: id, project: PROJECT }));
      expect(last.step).to.equal('account fields');
      expect(last.detail).to.equal(`Kill Bill has no account ${id} in tenant "${kb.apiKey}"`);
    });
  });
});
