import { setupSettings } from '../../src/app/setup-command.js';
import axios from 'axios';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTenantClients } from '../../src/clients/killbill/tenant-clients.js';
import { KillBillSetup } from '../../src/setup/kill-bill-setup.js';
import type { SetupReport } from '../../src/setup/setup-report.js';
import { parseSetupInput, type SetupInput } from '../../src/setup/setup-request.js';
import { startKillBillStandin, type KillBillStandin } from '../killbill-standin/index.js';
import { testConfig, TEST_TOKEN } from '../support/bridge-config.js';

/** Shared by the setup tests: one stand-in, reset before each test, read back over HTTP only. */

export const CATALOG = 'catalog/catalog.xml';
export const PROJECT = '0123456789abcdef0123456789abcdef';
export const SECRETS = ['lazar', 'password', TEST_TOKEN];

export async function startStandin(): Promise<KillBillStandin> {
  return startKillBillStandin({ port: 0 });
}

/** Runs setup in-process, as the command does, against `url` with test configuration overridden by `env`. */
export async function runSetup(
  url: string,
  input: SetupInput,
  env: Record<string, string> = {},
): Promise<SetupReport> {
  const config = testConfig({ KILLBILL_URL: url, ...env });
  const request = parseSetupInput(input, config.metering.metricUnits, CATALOG);
  const client = createTenantClients(config).get(config.killbill.apiKey)!;
  // These tests configure the callback token, so the token store never needs Redis.
  const noRedis = () => Promise.reject(new Error('these tests configure the callback token'));
  return new KillBillSetup(client, request, setupSettings(config, noRedis)).run();
}

export function statuses(report: SetupReport): Record<string, string> {
  return Object.fromEntries(report.steps.map((s) => [s.step, s.status]));
}

const TENANT_HEADERS = {
  'X-Killbill-ApiKey': 'bob',
  'X-Killbill-ApiSecret': 'lazar',
  'X-Killbill-CreatedBy': 'setup-test',
};

/** Kill Bill's API as a test uses it, with no help from the code under test. */
export function killBillApi(url: string) {
  return axios.create({
    baseURL: `${url}/1.0/kb`,
    auth: { username: 'admin', password: 'password' },
    headers: TENANT_HEADERS,
    validateStatus: () => true,
  });
}

export async function createAccount(url: string, externalKey = 'acct-1'): Promise<string> {
  const res = await killBillApi(url).post(
    '/accounts',
    { name: 'Setup test', externalKey, currency: 'USD' },
    { headers: { 'Content-Type': 'application/json' } },
  );
  if (res.status !== 201) throw new Error(`create account: ${res.status}`);
  return String(res.headers.location).split('/').pop()!;
}

/** Everything setup can change, as Kill Bill reports it: equal snapshots mean nothing was written. */
export async function killBillState(url: string, accountId?: string): Promise<unknown> {
  const api = killBillApi(url);
  const tenant = await api.get('/tenants', { params: { apiKey: 'bob' } });
  if (tenant.status !== 200) return { tenant: tenant.status };
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
 * an empty directory so no bridge.yaml is picked up. Asynchronous, since the stand-in answers from this
 * process.
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
