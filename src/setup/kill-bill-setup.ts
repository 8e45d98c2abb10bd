import { readFile } from 'node:fs/promises';
import { callbackUrl, ensureCallbackRegistered, maskCallbackUrl } from '../intake/callback-registration.js';
import type { CallbackTokens } from '../intake/callback-token.js';
import { CatalogFileError, FieldConflictError, KillBillError } from '../errors/index.js';
import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import {
  describeFieldChanges,
  hasChanges,
  planFieldChanges,
  wantedFields,
  type ExistingField,
} from './account-fields.js';
import {
  catalogFileVersion,
  catalogVersionsIn,
  describeVersion,
  sameVersion,
  type CatalogVersion,
} from './catalog-version.js';
import type { AccountLink, SetupRequest } from './setup-request.js';
import type { SetupReport, StepResult, StepStatus } from './setup-report.js';

/** The configuration the steps read; secrets stay inside the client and the callback URL. */
export interface SetupSettings {
  killbillUrl: string;
  username: string;
  planName: string;
  publicUrl: string;
  /** The configured token, else the tenant's in Redis (made by a real run, only read by a dry run). */
  callbackTokens: Pick<CallbackTokens, 'expected' | 'forRegistration'>;
  metricUnits: Readonly<Record<string, string>>;
  /** Receives the callback helper's log lines; silent by default, the step lines say the same. */
  logger?: Logger;
}

/** Ends a step early with its one-line reason. */
class StepFailure extends Error {}

/** Subscriptions that already bill the account: a PENDING one starts later, a second one would double-bill. */
const LIVE_STATES = new Set(['ACTIVE', 'PENDING']);

/** The Kill Bill URL without user info, path or query: safe to print. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the configured URL';
  }
}

/** A Kill Bill error as a reason: the operation prefix dropped, a 401 named for what it is. */
function reasonOf(err: unknown): string {
  if (err instanceof StepFailure || err instanceof CatalogFileError || err instanceof FieldConflictError) {
    return err.message;
  }
  if (err instanceof KillBillError) {
    const what = err.message.replace(/^Kill Bill (.*?) failed: /, '');
    if (err.status === 401) return `wrong credentials: Kill Bill answered 401 to ${err.operation}`;
    return `Kill Bill ${err.operation}: ${what}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * `bridge setup`: brings one Kill Bill tenant to what the bridge needs, one idempotent step after the
 * other, and stops at the first step that fails, since every later step depends on the earlier ones.
 * A dry run reads but never writes.
 */
export class KillBillSetup {
  private readonly steps: StepResult[] = [];
  /** Only in a dry run: the tenant is to be created, so nothing under it can be read yet. */
  private tenantMissing = false;

  constructor(
    private readonly client: KillBillClient,
    private readonly request: SetupRequest,
    private readonly settings: SetupSettings,
    /** Called as each step ends, so a slow Kill Bill shows progress. */
    private readonly onStep: (result: StepResult) => void = () => {},
  ) {}

  async run(): Promise<SetupReport> {
    const catalog = await this.readCatalogFile();
    if (catalog) {
      await this.step('Kill Bill', () => this.checkKillBill());
      if (this.request.createTenant) await this.step('tenant', () => this.ensureTenant());
      await this.step('catalog', () => this.ensureCatalog(catalog));
      await this.step('callback', () => this.ensureCallback());
      const link = this.request.account;
      if (link) {
        await this.step('account fields', () => this.ensureAccountFields(link));
        await this.step('subscription', () => this.ensureSubscription(link));
      }
    }
    const ok = this.steps.every((s) => s.status !== 'failed');
    return { ok, dryRun: this.request.dryRun, steps: this.steps };
  }

  private record(step: string, status: StepStatus, detail: string): void {
    const result = { step, status, detail };
    this.steps.push(result);
    this.onStep(result);
  }

  private async step(name: string, body: () => Promise<[StepStatus, string]>): Promise<void> {
    if (this.steps.some((s) => s.status === 'failed')) return;
    try {
      const [status, detail] = await body();
      this.record(name, status, detail);
    } catch (err) {
      this.record(name, 'failed', reasonOf(err));
    }
  }

  /** Read first, so a wrong file stops the run before anything is written to Kill Bill. */
  private async readCatalogFile(): Promise<{ xml: string; version: CatalogVersion } | null> {
    const path = this.request.catalogPath;
    try {
      const xml = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new CatalogFileError(`cannot read it (${err.code ?? err.message})`);
      });
      return { xml, version: catalogFileVersion(xml) };
    } catch (err) {
      this.record('catalog', 'failed', `${path}: ${reasonOf(err)}`);
      return null;
    }
  }

  private async checkKillBill(): Promise<[StepStatus, string]> {
    const at = origin(this.settings.killbillUrl);
    const healthy = await this.client.healthy();
    let tenantExists: boolean;
    try {
      // Needs only the user's credentials, so a bad user is told apart from a bad tenant key or secret.
      tenantExists = await this.client.tenantExists();
    } catch (err) {
      if (err instanceof KillBillError && err.status === undefined) {
        throw new StepFailure(
          `cannot reach Kill Bill at ${at}: ${reasonOf(err).replace(/^Kill Bill get tenant: /, '')}`,
        );
      }
      if (err instanceof KillBillError && err.status === 401) {
        throw new StepFailure(
          `wrong credentials: Kill Bill at ${at} refused user "${this.settings.username}" (401)`,
        );
      }
      throw err;
    }
    if (!healthy) throw new StepFailure(`Kill Bill at ${at} answers, but its healthcheck fails`);
    const key = this.client.apiKey;
    if (!tenantExists) {
      if (!this.request.createTenant) {
        throw new StepFailure(
          `wrong credentials: Kill Bill has no tenant with API key "${key}" (--create-tenant creates it)`,
        );
      }
      this.tenantMissing = this.request.dryRun;
      return ['ok', `reachable at ${at}, user accepted; tenant "${key}" is to be created`];
    }
    try {
      await this.client.getCallbacks();
    } catch (err) {
      if (err instanceof KillBillError && err.status === 401) {
        throw new StepFailure(`wrong credentials: Kill Bill refused the API secret of tenant "${key}" (401)`);
      }
      throw err;
    }
    return ['ok', `reachable at ${at}, credentials accepted`];
  }

  private async ensureTenant(): Promise<[StepStatus, string]> {
    const key = this.client.apiKey;
    if (!this.tenantMissing && (await this.client.tenantExists()))
      return ['already-done', `tenant "${key}" exists`];
    if (this.request.dryRun) return ['would-do', `create tenant "${key}"`];
    // false: created meanwhile by someone else (409), which is as good.
    const created = await this.client.createTenant();
    return created ? ['done', `created tenant "${key}"`] : ['already-done', `tenant "${key}" exists`];
  }

  private async ensureCatalog(catalog: {
    xml: string;
    version: CatalogVersion;
  }): Promise<[StepStatus, string]> {
    const described = describeVersion(catalog.version);
    if (this.tenantMissing) return ['would-do', `upload ${described}`];
    // Asked for the version in force at our effective date, so a later version does not hide ours.
    const current = await this.client.getCatalogXmlAt(catalog.version.effectiveDate.toISOString());
    if (catalogVersionsIn(current).some((v) => sameVersion(v, catalog.version)))
      return ['already-done', described];
    if (this.request.dryRun) return ['would-do', `upload ${described}`];
    try {
      await this.client.uploadCatalogXml(catalog.xml);
    } catch (err) {
      if (err instanceof KillBillError && err.status === 400) {
        throw new StepFailure(
          `Kill Bill refused ${this.request.catalogPath}: ${reasonOf(err).replace(/^Kill Bill upload catalog: (400 )?/, '')}`,
        );
      }
      throw err;
    }
    return ['done', `uploaded ${described}`];
  }

  private async ensureCallback(): Promise<[StepStatus, string]> {
    // Shown masked whatever the token is, so the shown URL needs none.
    const masked = maskCallbackUrl(callbackUrl(this.settings.publicUrl, 'token'));
    if (this.tenantMissing) return ['would-do', `register ${masked}`];
    const { callbackTokens } = this.settings;
    const tenant = this.client.apiKey;
    const token = this.request.dryRun
      ? await callbackTokens.expected(tenant)
      : await callbackTokens.forRegistration(tenant);
    const url = token === undefined ? undefined : callbackUrl(this.settings.publicUrl, token);
    const current = await this.client.getCallbacks();
    if (url && current.includes(url)) return ['already-done', masked];
    // Kill Bill keeps one URL per tenant: say whose URL is replaced, it may be another bridge's.
    const replacing = current.length > 0 ? `, replacing ${current.map(maskCallbackUrl).join(', ')}` : '';
    if (!url) return ['would-do', `register ${masked} with a new token kept in Redis${replacing}`];
    if (this.request.dryRun) return ['would-do', `register ${masked}${replacing}`];
    const outcome = await ensureCallbackRegistered(this.client, url, this.settings.logger ?? silentLogger);
    return outcome === 'registered' ? ['done', `registered ${masked}${replacing}`] : ['already-done', masked];
  }

  private async ensureAccountFields(link: AccountLink): Promise<[StepStatus, string]> {
    const { accountId } = link;
    if (this.tenantMissing)
      throw new StepFailure(`no account ${accountId}: tenant "${this.client.apiKey}" does not exist yet`);
    if (!(await this.client.getAccount(accountId))) {
      throw new StepFailure(`Kill Bill has no account ${accountId} in tenant "${this.client.apiKey}"`);
    }
    const existing = ((await this.client.getAccountCustomFields(accountId)) ?? [])
      .filter((f): f is ExistingField => typeof f.customFieldId === 'string' && typeof f.name === 'string')
      .map((f) => ({ customFieldId: f.customFieldId, name: f.name, value: String(f.value ?? '') }));
    const wanted = wantedFields(link, existing, Object.keys(this.settings.metricUnits));
    const changes = planFieldChanges(wanted, existing);
    if (!hasChanges(changes)) return ['already-done', wanted.map((f) => `${f.name}=${f.value}`).join(', ')];
    const described = describeFieldChanges(changes);
    if (this.request.dryRun) return ['would-do', described];
    if (changes.add.length > 0) await this.client.addAccountCustomFields(accountId, changes.add);
    if (changes.update.length > 0) {
      await this.client.updateAccountCustomFields(
        accountId,
        changes.update.map(({ customFieldId, value }) => ({ customFieldId, value })),
      );
    }
    if (changes.remove.length > 0) {
      await this.client.removeAccountCustomFields(
        accountId,
        changes.remove.map((f) => f.customFieldId),
      );
    }
    return ['done', described];
  }

  private async ensureSubscription(link: AccountLink): Promise<[StepStatus, string]> {
    const plan = this.settings.planName;
    const bundles = (await this.client.getAccountBundles(link.accountId)) ?? [];
    const live = bundles
      .flatMap((b) => b.subscriptions ?? [])
      .find((s) => s.planName === plan && LIVE_STATES.has(String(s.state)));
    if (live) return ['already-done', `subscription ${live.subscriptionId} on ${plan}, ${live.state}`];
    if (this.request.dryRun) return ['would-do', `subscribe account ${link.accountId} to ${plan}`];
    const id = await this.client.createSubscription(link.accountId, plan);
    return ['done', `created subscription ${id} on ${plan}`];
  }
}
