import { expect } from 'chai';
import { FIELD } from '../../src/registry/metered-subscription.js';
import { planFieldChanges, wantedFields } from '../../src/setup/account-fields.js';
import { catalogFileVersion, catalogVersionsIn, sameVersion } from '../../src/setup/catalog-version.js';
import { renderReportJson, renderStep } from '../../src/setup/setup-report.js';
import { SetupInputError } from '../../src/errors/index.js';
import { parseSetupInput } from '../../src/setup/setup-request.js';

const UNITS = { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' };
const ACCOUNT = '3f1c2b7e-1d2a-4c5b-9e8f-0a1b2c3d4e5f';
const PROJECT = '0123456789abcdef0123456789abcdef';

describe('bridge setup, pure parts', () => {
  describe('catalog versions', () => {
    it('reads name and effective date from a catalog file; a date without zone is UTC', () => {
      const v = catalogFileVersion(
        '<?xml version="1.0"?><catalog><effectiveDate>2024-01-01T00:00:00</effectiveDate>' +
          '<catalogName>OpenstackBridge</catalogName></catalog>',
      );
      expect(v.name).to.equal('OpenstackBridge');
      expect(v.effectiveDate.toISOString()).to.equal('2024-01-01T00:00:00.000Z');
    });

    it('finds versions in both forms Kill Bill may answer, comparing instants not spellings', () => {
      const ours = { name: 'OpenstackBridge', effectiveDate: new Date('2024-01-01T00:00:00Z') };
      const single =
        '<catalog><effectiveDate>2024-01-01T01:00:00+01:00</effectiveDate><catalogName>OpenstackBridge</catalogName></catalog>';
      const versioned =
        '<catalogs><versions><version><effectiveDate>2023-01-01T00:00:00Z</effectiveDate></version>' +
        '<version><effectiveDate>2024-01-01T00:00:00.000Z</effectiveDate></version></versions>' +
        '<catalogName>OpenstackBridge</catalogName></catalogs>';
      expect(catalogVersionsIn(single).some((v) => sameVersion(v, ours))).to.be.true;
      expect(catalogVersionsIn(versioned)).to.have.length(2);
      expect(catalogVersionsIn(versioned).some((v) => sameVersion(v, ours))).to.be.true;
      expect(
        catalogVersionsIn(versioned.replace('2024-01-01', '2024-01-02')).some((v) => sameVersion(v, ours)),
      ).to.be.false;
      for (const nothing of [null, '', 'not xml <', '<catalogs/>'])
        expect(catalogVersionsIn(nothing)).to.deep.equal([]);
    });
  });

  describe('command input', () => {
    const parse = (input: Parameters<typeof parseSetupInput>[0]) =>
      parseSetupInput(input, UNITS, 'catalog.xml');
    const refusal = (input: Parameters<typeof parseSetupInput>[0]): string => {
      try {
        parse(input);
      } catch (err) {
        expect(err).to.be.instanceOf(SetupInputError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };

    it('accepts 32 hex digits or a UUID as project, normalised to lower case', () => {
      expect(parse({ account: ACCOUNT, project: PROJECT.toUpperCase() }).account).to.deep.equal({
        accountId: ACCOUNT,
        projectId: PROJECT,
      });
      expect(
        parse({ account: ACCOUNT, project: ACCOUNT, metrics: ' vcpus, instance,vcpus ' }).account,
      ).to.deep.equal({
        accountId: ACCOUNT,
        projectId: ACCOUNT,
        metrics: ['vcpus', 'instance'],
      });
      expect(parse({}).account).to.be.undefined;
    });

    it('refuses a bad project id, account id or metric, naming it', () => {
      expect(refusal({ account: ACCOUNT, project: 'my-project' })).to.include(
        '"my-project" is not a Keystone project id',
      );
      expect(refusal({ account: ACCOUNT, project: PROJECT.slice(1) })).to.include(
        'not a Keystone project id',
      );
      expect(refusal({ account: 'acct-1', project: PROJECT })).to.include('not a Kill Bill account id');
      expect(refusal({ project: PROJECT })).to.include('need --account');
      expect(refusal({ account: ACCOUNT })).to.include('needs --project');
      expect(refusal({ account: ACCOUNT, project: PROJECT, metrics: 'instance,ram' })).to.include(
        'no Kill Bill unit is configured for "ram"',
      );
      expect(refusal({ account: ACCOUNT, project: PROJECT, metrics: 'in stance' })).to.include(
        'not a CloudKitty',
      );
      expect(refusal({ account: ACCOUNT, project: PROJECT, metrics: ' , ' })).to.include(
        '--metrics is empty',
      );
    });
  });

  describe('account field changes', () => {
    const field = (customFieldId: string, name: string, value: string) => ({ customFieldId, name, value });

    it('adds what is missing and leaves values the registry reads as equal', () => {
      const existing = [field('1', FIELD.enabled, 'TRUE'), field('2', FIELD.metrics, 'vcpus, instance')];
      const link = { accountId: ACCOUNT, projectId: PROJECT, metrics: ['instance', 'vcpus'] };
      const changes = planFieldChanges(wantedFields(link, existing, Object.keys(UNITS)), existing);
      expect(changes).to.deep.equal({
        add: [{ name: FIELD.projectId, value: PROJECT }],
        update: [],
        remove: [],
      });
    });

    it('updates a differing value in place and removes other values of the same name', () => {
      const existing = [
        field('1', FIELD.projectId, 'f'.repeat(32)),
        field('2', FIELD.projectId, 'e'.repeat(32)),
        field('3', FIELD.enabled, 'false'),
      ];
      const link = { accountId: ACCOUNT, projectId: PROJECT };
      const changes = planFieldChanges(wantedFields(link, existing, Object.keys(UNITS)), existing);
      expect(changes.add).to.deep.equal([{ name: FIELD.metrics, value: 'instance,vcpus' }]);
      expect(changes.update).to.deep.equal([
        { customFieldId: '3', name: FIELD.enabled, value: 'true' },
        { customFieldId: '1', name: FIELD.projectId, value: PROJECT },
      ]);
      expect(changes.remove.map((f) => f.customFieldId)).to.deep.equal(['2']);
    });

    it('without --metrics keeps the account choice, but not two of them', () => {
      const link = { accountId: ACCOUNT, projectId: PROJECT };
      const one = [field('1', FIELD.metrics, 'vcpus')];
      expect(wantedFields(link, one, Object.keys(UNITS))[2]).to.deep.equal({
        name: FIELD.metrics,
        value: 'vcpus',
      });
      const two = [...one, field('2', FIELD.metrics, 'instance')];
      expect(() => wantedFields(link, two, Object.keys(UNITS))).to.throw(/2 different values.*--metrics/);
    });
  });

  describe('report lines', () => {
    it('prints one plain line per step, colour only when asked', () => {
      expect(renderStep({ step: 'catalog', status: 'done', detail: 'uploaded X' })).to.equal(
        '✓ catalog: done (uploaded X)',
      );
      expect(renderStep({ step: 'catalog', status: 'already-done', detail: '' })).to.equal(
        '✓ catalog: already done',
      );
      expect(renderStep({ step: 'tenant', status: 'would-do', detail: 'create tenant "bob"' })).to.equal(
        '- tenant: would do (create tenant "bob")',
      );
      expect(renderStep({ step: 'catalog', status: 'failed', detail: 'Kill Bill said\n  no' })).to.equal(
        '✗ catalog: Kill Bill said no',
      );
      expect(renderStep({ step: 'catalog', status: 'done', detail: '' }, true).startsWith('\u001b[32m')).to.be
        .true;
      const json = JSON.parse(
        renderReportJson({
          ok: false,
          dryRun: false,
          steps: [{ step: 's', status: 'failed', detail: 'a\nb' }],
        }),
      ) as { steps: Array<{ detail: string }> };
      expect(json.steps[0]!.detail).to.equal('a b');
    });
  });
});
