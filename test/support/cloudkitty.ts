import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeystoneSession } from '../../src/clients/openstack/keystone-session.js';
import { buildDataframes, postDataframes, type RatedUsage } from './rated-usage-dataframes.js';
import { registerCleanup } from './root-hooks.js';
import { freePort } from './wait.js';

export type CloudKittyAuth = 'noauth' | 'keystone';

export interface StartCloudKittyOptions {
  /** Default `noauth`. `keystone` also starts a real Keystone (about 20 s more). */
  auth?: CloudKittyAuth;
  /** Time zone of the CloudKitty API process, e.g. `Asia/Kathmandu`; responses carry its offset. Default UTC. */
  timeZone?: string;
  /**
   * With `auth: 'keystone'`: also a real Heat (heat-api, heat-engine; about 30 s more) registered in Keystone's
   * catalog as `orchestration`, its RPC on the machine's RabbitMQ in a vhost of its own.
   */
  heat?: boolean;
}

export interface KeystoneAccess {
  /** Keystone v3 URL, e.g. `http://127.0.0.1:40123/v3`. */
  authUrl: string;
  /** The bootstrap admin (role admin on project admin). */
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  region: string;
}

export interface CloudKittyInstance {
  /** CloudKitty API base URL, no `/v2`. */
  url: string;
  influxUrl: string;
  /** Holds the configs, the SQLite databases and the logs (`log/`). */
  stateDir: string;
  keystone?: KeystoneAccess;
  /** Heat's API root (no `/v1`), when started with `heat`. */
  heatUrl?: string;
  /** Empties all rated data (drops and recreates the InfluxDB database); the API keeps running. */
  reset(): Promise<void>;
  /** Stops every process by recorded PID. Runs by itself after the whole mocha run. */
  stop(): Promise<void>;
}

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/cloudkitty-up.sh');
const instances = new Map<string, Promise<CloudKittyInstance>>();

/**
 * A real CloudKitty 17 (and InfluxDB, and with `auth: 'keystone'` a real Keystone) on free loopback
 * ports, started once per option set for the whole mocha run and stopped after it. Suites share it,
 * so they call `reset()` or use their own time windows rather than assume an empty store.
 */
export function startCloudKitty(options: StartCloudKittyOptions = {}): Promise<CloudKittyInstance> {
  const auth = options.auth ?? 'noauth';
  const timeZone = options.timeZone ?? 'UTC';
  const heat = options.heat === true;
  if (heat && auth !== 'keystone') throw new TypeError("a Heat needs auth: 'keystone'");
  const key = `${auth}/${timeZone}${heat ? '/heat' : ''}`;
  let instance = instances.get(key);
  if (!instance) {
    // A failed start stays memoized, so every later suite fails at once with the same reason.
    instance = launch(auth, timeZone, heat);
    if (instances.size === 0) registerCleanup(stopAll);
    instances.set(key, instance);
  }
  return instance;
}

/** Stops every instance at once: each takes seconds to stop, and nothing orders them. */
async function stopAll(): Promise<void> {
  const started = [...instances.values()];
  instances.clear();
  await Promise.all(started.map(async (instance) => (await instance.catch(() => undefined))?.stop()));
}

/**
 * Seeds rated usage through `POST /v2/dataframes` (one dataframe per period, points per metric).
 * Re-seeding the same points overwrites them.
 */
export async function seedRatedUsage(url: string, usage: readonly RatedUsage[]): Promise<void> {
  await postDataframes({ url }, buildDataframes(usage), { attempts: 1 });
}

/** {@link seedRatedUsage} into a CloudKitty behind Keystone (`auth: 'keystone'`), as its admin. */
export async function seedRatedUsageAsAdmin(ks: KeystoneAccess, usage: readonly RatedUsage[]): Promise<void> {
  const session = new KeystoneSession({
    authUrl: ks.authUrl,
    region: ks.region,
    credentials: {
      type: 'password',
      username: ks.username,
      userDomainName: ks.userDomainName,
      password: ks.password,
      projectName: ks.projectName,
      projectDomainName: ks.projectDomainName,
    },
  });
  await postDataframes({ session }, buildDataframes(usage), { attempts: 1 });
}

/**
 * The bridge's settings for a CloudKitty the tests seed through POST /v2/dataframes. Without cloudkitty-processor
 * no project has a scope state, so the bridge is told to take windows as rated a settle delay after their end
 * (the production default waits for the scope state: see `markRated` for a test of that).
 */
export function seededCloudKittyEnv(url: string): Record<string, string> {
  return { CLOUDKITTY_URL: url, CLOUDKITTY_SCOPE_STATE: 'optional' };
}

// Only cloudkitty-processor creates scope states (POST /v2/scope fails in 17.0.0 with a NOT NULL error), so
// they are written the way it writes them: a row of cloudkitty_storage_states in its SQLite, naive UTC.
const SCOPE_STATE_SQL = `
import sqlite3, sys
db, project, last = sys.argv[1:4]
c = sqlite3.connect(db)
if last == '-':
    c.execute('delete from cloudkitty_storage_states where identifier = ?', (project,))
elif c.execute('update cloudkitty_storage_states set last_processed_timestamp = ? where identifier = ?',
               (last, project)).rowcount == 0:
    c.execute('insert into cloudkitty_storage_states'
              '(identifier, scope_key, fetcher, collector, last_processed_timestamp, active)'
              " values (?, 'project_id', 'keystone', 'gnocchi', ?, 1)", (project, last))
c.commit()
`;

/**
 * Gives `projectId` the scope state cloudkitty-processor leaves after rating it up to `lastProcessed` (creating
 * or moving it); `null` removes it, as if the processor had never seen the project.
 */
export function markRated(ck: CloudKittyInstance, projectId: string, lastProcessed: Date | null): void {
  const naiveUtc = lastProcessed ? lastProcessed.toISOString().replace('T', ' ').replace('Z', '000') : '-';
  execFileSync('/usr/bin/python3', [
    '-c',
    SCOPE_STATE_SQL,
    join(ck.stateDir, 'cloudkitty.sqlite'),
    projectId,
    naiveUtc,
  ]);
}

async function launch(auth: CloudKittyAuth, timeZone: string, heat: boolean): Promise<CloudKittyInstance> {
  assertInstalled(auth, heat);
  const stateDir = mkdtempSync(join(tmpdir(), `bridge-cloudkitty-${auth}-`));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CK_AUTH: auth,
    CK_TZ: timeZone,
    CK_STATE_DIR: stateDir,
    CK_SKIP_INSTALL: '1',
    CK_PORT: String(await freePort()),
    CK_INFLUX_PORT: String(await freePort()),
    CK_INFLUX_RPC_PORT: String(await freePort()),
    CK_KEYSTONE_PORT: String(await freePort()),
    CK_HEAT: heat ? '1' : '0',
    CK_HEAT_PORT: String(await freePort()),
    // A fresh password per run: a test can then search any output for it to prove it never leaks.
    CK_ADMIN_PASSWORD: `ci-${randomBytes(9).toString('hex')}`,
  };
  const exported = parseExports(await runScript(['up'], env));
  let stopped: Promise<void> | undefined;
  const required = (name: string): string => {
    const value = exported.get(name);
    if (!value) throw new Error(`cloudkitty-up.sh up printed no ${name}`);
    return value;
  };
  return {
    url: required('CLOUDKITTY_URL'),
    influxUrl: required('CLOUDKITTY_INFLUX_URL'),
    stateDir,
    keystone:
      auth === 'keystone'
        ? {
            authUrl: required('OS_AUTH_URL'),
            username: required('OS_USERNAME'),
            password: required('OS_PASSWORD'),
            projectName: required('OS_PROJECT_NAME'),
            userDomainName: required('OS_USER_DOMAIN_NAME'),
            projectDomainName: required('OS_PROJECT_DOMAIN_NAME'),
            region: required('OS_REGION_NAME'),
          }
        : undefined,
    heatUrl: heat ? required('HEAT_URL') : undefined,
    reset: async () => {
      await runScript(['reset', stateDir], env);
    },
    stop: () => {
      stopped ??= runScript(['down', stateDir], env).then(() => undefined);
      return stopped;
    },
  };
}

function runScript(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [SCRIPT, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`cloudkitty-up.sh ${args[0]} failed (${error.message.split('\n')[0]}):\n${stderr}`));
      } else {
        resolvePromise(stdout);
      }
    });
  });
}

function parseExports(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) values.set(match[1] as string, match[2] as string);
  }
  return values;
}

function assertInstalled(auth: CloudKittyAuth, heat: boolean): void {
  const needed = ['cloudkitty-api', 'cloudkitty-dbsync', 'influxd', 'curl'];
  if (auth === 'keystone') needed.push('keystone-manage', 'keystone-wsgi-public');
  if (heat) needed.push('heat-api', 'heat-engine', 'heat-manage', 'rabbitmqctl');
  // Daemons and rabbitmqctl live in sbin, which a normal user's PATH often lacks.
  const found = (bin: string) =>
    spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${bin}`]).status === 0;
  const missing = needed.filter((bin) => !found(bin));
  if (missing.length || !existsSync('/usr/bin/python3')) {
    throw new Error(
      `the CloudKitty tests need a real CloudKitty 17, InfluxDB${auth === 'keystone' ? ' and Keystone' : ''}` +
        `${heat ? ', Heat and a running RabbitMQ' : ''} (missing: ${missing.join(', ') || '/usr/bin/python3'}). ` +
        'On Debian 12 install them with: sudo apt-get install -y --no-install-recommends cloudkitty-api influxdb ' +
        `keystone${heat ? ' heat-api heat-engine rabbitmq-server' : ''}`,
    );
  }
}
