import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { whenThisProcessIsGone, type Reaper } from './reaper.js';
import { registerCleanup } from './root-hooks.js';
import { freePort } from './wait.js';

/** One real Kill Bill server (scripts/killbill.sh) shared by the whole mocha run. */
export interface KillBillServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no `/1.0/kb`). */
  url: string;
  /** The war version that runs (`KILLBILL_VERSION`, see scripts/killbill.sh). */
  version: string;
  /** Holds `killbill.log`, the properties and the PID files. */
  stateDir: string;
  /** Its own MariaDB database, dropped by `stop()`. */
  database: string;
  pid: number;
  username: string;
  password: string;
  /** Stops the JVM by recorded PID and drops the database. Runs by itself after the whole mocha run. */
  stop(): Promise<void>;
}

/** A fresh tenant: what a Kill Bill client needs to talk to it. */
export interface KillBillTenant {
  url: string;
  apiKey: string;
  apiSecret: string;
  username: string;
  password: string;
  tenantId: string;
}

/** `GET /1.0/kb/test/clock`. */
export interface KillBillClock {
  currentUtcTime: string;
  timeZone: string;
  localDate: string;
}

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/killbill.sh');
let server: Promise<KillBillServer> | undefined;

/**
 * Starts the real Kill Bill once for the whole run (about 10-30 s warm, longer on the first download)
 * and stops it after the last suite. A failed start stays memoized: later suites fail at once with the
 * same reason. Suites share it, so each one uses its own tenant (`createTenant()`).
 */
export function startKillBill(): Promise<KillBillServer> {
  if (!server) {
    server = launch();
    registerCleanup(async () => (await server?.catch(() => undefined))?.stop());
  }
  return server;
}

/**
 * Should this process die without its hooks while a dedicated server starts or runs (killbill.sh's own watcher
 * starts only once it is up, and stops it gently): `up`, the JVM and that watcher, one process group (`$1`),
 * are SIGKILLed, then `down` drops the database if it still can and removes the state dir (`$2`).
 */
const REAP_STARTING_SERVER = [
  'kill -9 -- "-$1" 2>/dev/null',
  'bash "$3" down "$2" >/dev/null 2>&1',
  'rm -rf "$2"',
].join('\n');

/**
 * A Kill Bill of its own, NOT the shared one: `killbill.sh up` with `env` on top (e.g. `KILLBILL_DB_PORT` of
 * a private MariaDB), for a suite that breaks what the server stands on. Stopped by `stop()`, after the whole
 * run at the latest, and whatever ends this process. Its tenants: `createTenant({ server })`.
 */
export async function startDedicatedKillBill(env: Record<string, string>): Promise<KillBillServer> {
  const stateDir = mkdtempSync(join(tmpdir(), 'killbill.'));
  let reaper: Reaper | undefined;
  const started = await launch({
    env: { ...env, KILLBILL_STATE_DIR: stateDir },
    onSpawn: (group) =>
      (reaper = whenThisProcessIsGone(REAP_STARTING_SERVER, String(group), stateDir, SCRIPT)),
  }).catch((err: unknown) => {
    reaper?.cancel(); // killbill.sh keeps a failed start's state dir for inspection
    throw err;
  });
  const dedicated = { ...started, stop: () => started.stop().finally(() => reaper?.cancel()) };
  registerCleanup(() => dedicated.stop());
  return dedicated;
}

interface LaunchOptions {
  /** Set on top of the shared server's environment. */
  env?: Record<string, string>;
  /** Runs `up` as the leader of a process group of its own (its JVM joins it), told its PID. */
  onSpawn?: (pid: number) => void;
}

async function launch(options: LaunchOptions = {}): Promise<KillBillServer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KILLBILL_PORT: String(await freePort()),
    // If mocha dies without running its hooks, the server still stops (and drops its database).
    KILLBILL_WATCH_PID: String(process.pid),
  };
  delete env.KILLBILL_STATE_DIR; // always a new state dir of its own
  Object.assign(env, options.env);
  const exported = parseExports(await runScript(['up'], env, options.onSpawn));
  const required = (name: string): string => {
    const value = exported.get(name);
    if (!value) throw new Error(`killbill.sh up printed no ${name}`);
    return value;
  };
  const stateDir = required('KILLBILL_STATE_DIR');
  let stopped: Promise<void> | undefined;
  return {
    url: required('KILLBILL_URL'),
    version: required('KILLBILL_VERSION'),
    stateDir,
    database: required('KILLBILL_DB'),
    pid: Number(required('KILLBILL_PID')),
    username: required('KILLBILL_USERNAME'),
    password: required('KILLBILL_PASSWORD'),
    stop: () => {
      stopped ??= runScript(['down', stateDir], env).then(() => undefined);
      return stopped;
    },
  };
}

export interface CreateTenantOptions {
  externalKey?: string;
  /** `true`: the tenant uses the server's default catalog until it uploads its own. Default `false`. */
  useGlobalDefault?: boolean;
  /** The server to make it on. Default: the shared one ({@link startKillBill}). */
  server?: KillBillServer;
}

/** A new tenant with a random API key and secret on the shared server (started if need be), or `server`. */
export async function createTenant(options: CreateTenantOptions = {}): Promise<KillBillTenant> {
  const kb = options.server ?? (await startKillBill());
  const apiKey = `test-${randomBytes(6).toString('hex')}`;
  const apiSecret = randomBytes(12).toString('hex');
  const externalKey = options.externalKey ?? apiKey;
  const query = `useGlobalDefault=${options.useGlobalDefault ?? false}`;
  const response = await fetch(`${kb.url}/1.0/kb/tenants?${query}`, {
    method: 'POST',
    headers: {
      authorization: basic(kb.username, kb.password),
      'content-type': 'application/json',
      'x-killbill-createdby': 'test-harness',
    },
    body: JSON.stringify({ apiKey, apiSecret, externalKey }),
  });
  if (response.status !== 201) {
    throw new Error(`POST /1.0/kb/tenants answered ${response.status}: ${await response.text()}`);
  }
  const tenantId = response.headers.get('location')?.split('/').pop();
  if (!tenantId) throw new Error('POST /1.0/kb/tenants answered 201 without a Location');
  return { url: kb.url, apiKey, apiSecret, username: kb.username, password: kb.password, tenantId };
}

/** The headers Kill Bill wants on every tenant call (basic auth, API key and secret, CreatedBy). */
export function tenantHeaders(tenant: KillBillTenant): Record<string, string> {
  return {
    authorization: basic(tenant.username, tenant.password),
    'x-killbill-apikey': tenant.apiKey,
    'x-killbill-apisecret': tenant.apiSecret,
    'x-killbill-createdby': 'test-harness',
    accept: 'application/json',
  };
}

/*
 * The test clock (test mode only) is ONE clock for the whole server, every tenant included. Each call
 * waits up to `timeoutSec` for the calling tenant's bus events and notifications. Suites that move it
 * must reset it when done (`resetClock`), since suites share the server.
 */

export function getClock(tenant: KillBillTenant): Promise<KillBillClock> {
  return clockCall(tenant, 'GET', '');
}

/** Sets the server clock to an ISO date-time (or date), e.g. `2030-01-31T00:00:00Z`. */
export function setClock(tenant: KillBillTenant, iso: string, timeoutSec = 10): Promise<KillBillClock> {
  return clockCall(tenant, 'POST', `requestedDate=${encodeURIComponent(iso)}&timeoutSec=${timeoutSec}`);
}

/** Moves the server clock forward by whole days. */
export function moveClockDays(tenant: KillBillTenant, days: number, timeoutSec = 10): Promise<KillBillClock> {
  return clockCall(tenant, 'PUT', `days=${days}&timeoutSec=${timeoutSec}`);
}

/** Puts the server clock back to real time. */
export function resetClock(tenant: KillBillTenant, timeoutSec = 10): Promise<KillBillClock> {
  return clockCall(tenant, 'POST', `timeoutSec=${timeoutSec}`);
}

/** Waits until the tenant's bus events and notifications due now are processed; throws on time-out. */
export async function waitForQueues(tenant: KillBillTenant, timeoutSec = 10): Promise<void> {
  const response = await fetch(`${tenant.url}/1.0/kb/test/queues?timeoutSec=${timeoutSec}`, {
    headers: tenantHeaders(tenant),
  });
  if (response.status !== 200) {
    throw new Error(
      `Kill Bill queues not drained within ${timeoutSec} s (GET /1.0/kb/test/queues -> ${response.status})`,
    );
  }
}

async function clockCall(tenant: KillBillTenant, method: string, query: string): Promise<KillBillClock> {
  const url = `${tenant.url}/1.0/kb/test/clock${query ? `?${query}` : ''}`;
  const response = await fetch(url, { method, headers: tenantHeaders(tenant) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as KillBillClock;
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function runScript(args: string[], env: NodeJS.ProcessEnv, onSpawn?: (pid: number) => void): Promise<string> {
  if (onSpawn) return runDetached(args, env, onSpawn);
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [SCRIPT, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`killbill.sh ${args[0]} failed (${error.message.split('\n')[0]}):\n${stderr}`));
      } else {
        resolvePromise(stdout);
      }
    });
  });
}

/** {@link runScript} as the leader of a new process group (execFile drops `detached`), told its PID at once. */
function runDetached(
  args: string[],
  env: NodeJS.ProcessEnv,
  onSpawn: (pid: number) => void,
): Promise<string> {
  const child = spawn('bash', [SCRIPT, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) onSpawn(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolvePromise(stdout)
        : reject(new Error(`killbill.sh ${args[0]} failed (exit ${code}):\n${stderr}`)),
    );
  });
}

function parseExports(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(?:export )?([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1] as string, match[2] as string);
  }
  return values;
}
