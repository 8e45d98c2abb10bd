import axios from 'axios';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupSettings } from '../../src/app/setup-command.js';
import { createTenantClients } from '../../src/clients/killbill/tenant-clients.js';
import { KillBillSetup } from '../../src/setup/kill-bill-setup.js';
import type { SetupReport } from '../../src/setup/setup-report.js';
import { parseSetupInput, type SetupInput } from '../../src/setup/setup-request.js';
import { testConfig, TEST_TOKEN } from '../support/bridge-config.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { createTenant, startKillBill, tenantHeaders } from '../support/killbill-server.js';
import { freePort } from '../support/wait.js';

/**
 * Shared by the setup tests: the real Kill Bill shared by the whole run, a fresh tenant (or fresh tenant
 * keys, for `--create-tenant`) per test, read back over HTTP only.
 */

export const CATALOG = 'catalog/catalog.xml';
export const PROJECT = '0123456789abcdef0123456789abcdef';

const NO_TENANT = 'java.lang.IllegalStateException: TenantCacheLoader cannot find value for key';

/** One tenant as setup is configured for it; it may not exist in Kill Bill yet. */
export interface SetupTarget {
  url: string;
  apiKey: string;
  apiSecret: string;
  username: string;
  password: string;
}

/**
 * What the setup suites run against. Kill Bill pushes to the callback setup registers (`publicUrl`): no bridge
 * runs here, so a proxy answers every delivery 200 itself (no retries) and keeps what was pushed. Every
 * tenant handed out has its callback unregistered by `close()`, since the server outlives the suite.
 */
export class SetupBench {
  private readonly targets: SetupTarget[] = [];

  private constructor(
    readonly killBillUrl: string,
    private readonly server: { username: string; password: string },
    readonly intake: FaultProxy,
  ) {}

  static async start(): Promise<SetupBench> {
    const kb = await startKillBill();
    const intake = await FaultProxy.start(`http://127.0.0.1:${await freePort()}`);
    intake.failAll({ kind: 'status', status: 200 });
    return new SetupBench(kb.url, kb, intake);
  }

  get publicUrl(): string {
    return this.intake.url;
  }

  /** Keys no tenant has yet: what `--create-tenant` creates. */
  newKeys(): SetupTarget {
    const target = {
      url: this.killBillUrl,
      apiKey: `setup-${randomBytes(6).toString('hex')}`,
      apiSecret: randomBytes(12).toString('hex'),
      ...this.server,
    };
    this.targets.push(target);
    return target;
  }

  /** A tenant that exists, without a catalog (as `--create-tenant` makes it). */
  async newTenant(): Promise<SetupTarget> {
    const tenant = await createTenant();
    this.targets.push(tenant);
    return tenant;
  }

  /** The settings `bridge setup` runs on for `target`, as environment variables. */
  env(target: SetupTarget): Record<string, string> {
    return {
      KILLBILL_URL: target.url,
      KILLBILL_USERNAME: target.username,
      KILLBILL_PASSWORD: target.password,
      KILLBILL_API_KEY: target.apiKey,
      KILLBILL_API_SECRET: target.apiSecret,
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
      BRIDGE_PUBLIC_URL: this.publicUrl,
    };
  }

  /** What was pushed about one Kill Bill object (an account id is in the body of its notifications). */
  pushedAbout(objectId: string) {
    return this.intake.seen({ method: 'POST' }).filter((r) => r.body.includes(objectId));
  }

  async close(): Promise<void> {
    for (const target of this.targets) {
      await killBillApi(target)
        .delete('/tenants/registerNotificationCallback')
        .catch(() => undefined);
    }
    await this.intake.close();
  }
}

/** What must never be printed for `target`. */
export function secretsOf(target: SetupTarget): string[] {
  return [target.apiSecret, target.password, TEST_TOKEN];
}

/** Runs setup in-process, as the command does, for `target`, with `env` on top of bench settings. */
export async function runSetup(
  bench: SetupBench,
  target: SetupTarget,
  input: SetupInput,
  env: Record<string, string> = {},
): Promise<SetupReport> {
  const config = testConfig({ ...bench.env(target), ...env });
  const request = parseSetupInput(input, config.metering.metricUnits, CATALOG);
  const client = createTenantClients(config).get(config.killbill.apiKey)!;
  // These tests configure the callback token, so the token store never needs Redis.
  const noRedis = () => Promise.reject(new Error('these tests configure the callback token'));
  return new KillBillSetup(client, request, setupSettings(config, noRedis)).run();
}

export function statuses(report: SetupReport): Record<string, string> {
  return Object.fromEntries(report.steps.map((s) => [s.step, s.status]));
}

/** Kill Bill's API as a test uses it, with no help from the code under test. */
export function killBillApi(target: SetupTarget) {
  const { accept: _json, ...headers } = tenantHeaders({ ...target, tenantId: '' });
  return axios.create({
    baseURL: `${target.url}/1.0/kb`,
    headers: { ...headers, 'x-killbill-createdby': 'setup-test' },
    validateStatus: () => true,
  });
}

export async function createAccount(target: SetupTarget, externalKey = 'acct-1'): Promise<string> {
  const res = await killBillApi(target).post(
    '/accounts',
    { name: 'Setup test', externalKey, currency: 'USD' },
    { headers: { 'Content-Type': 'application/json' } },
  );
  if (res.status !== 201) throw new Error(`create account: ${res.status}`);
  return String(res.headers.location).split('/').pop()!;
}

/**
 * Everything setup can change, as Kill Bill reports it: equal snapshots mean nothing was written. Taken once
 * Kill Bill's own queues for the tenant are drained, so work it still does by itself (an invoice after a new
 * subscription) is not read as setup's.
 */
export async function killBillState(target: SetupTarget, accountId?: string): Promise<unknown> {
  const api = killBillApi(target);
  const tenant = await api.get('/tenants', { params: { apiKey: target.apiKey } });
  // Kill Bill 0.22.26 answers a lookup of a key it has no tenant for with this 500, not a 404.
  const message = (tenant.data as { message?: unknown } | undefined)?.message;
  if (tenant.status === 500 && message === `${NO_TENANT} ${target.apiKey}`) return { tenant: 'none' };
  if (tenant.status !== 200) return { tenant: tenant.status };
  const queues = await api.get('/test/queues', { params: { timeoutSec: 10 } });
  if (queues.status !== 200) throw new Error(`Kill Bill queues not drained (${queues.status})`);
  const read = async (path: string) => {
    const res = await api.get(path);
    return { status: res.status, data: res.data as unknown };
  };
  return {
    tenant: tenant.data as unknown,
    catalog: await read('/catalog'),
    callback: await read('/tenants/registerNotificationCallback'),
    account: accountId
      ? {
          fields: await read(`/accounts/${accountId}/customFields`),
          bundles: await read(`/accounts/${accountId}/bundles`),
        }
      : null,
  };
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-setup-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function writeCatalog(dir: string, name: string, xml: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, xml);
  return path;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node bin/bridge.js setup …` as an operator runs it: only the given settings in the environment, from
 * an empty directory so no bridge.yaml is picked up. Asynchronous, since the proxy that takes Kill Bill's
 * pushes answers from this process.
 */
export function bridgeCli(args: string[], env: Record<string, string>, cwd: string): Promise<CliRun> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(OS_|KILLBILL_|BRIDGE_|CLOUDKITTY_|REDIS_URL|PORT|LOG_LEVEL|NO_COLOR)/.test(k),
    ),
  );
  const child = spawn(process.execPath, [join(process.cwd(), 'bin/bridge.js'), 'setup', ...args], {
    cwd,
    env: { ...inherited, CLOUDKITTY_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
