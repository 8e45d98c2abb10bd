import { existsSync } from 'node:fs';
import type Convict from 'convict';
import { addressClashProblems } from './address-clash.js';
import { ConfigError, type ConfigProblem, type ValueOrigin } from '../errors/config-error.js';
import { createConfig, schema, SECRET_KEYS, type BridgeConfig, type WrittenConfig } from './schema.js';
import { typedConfig } from './typed-config.js';
import { readConfigFile } from './yaml-source.js';
import { redisProblems } from './redis-problems.js';
import { showValue } from './masking.js';

/** Searched in order when neither --config nor BRIDGE_CONFIG names a file. */
export const DEFAULT_SEARCH_PATH = [
  'bridge.yaml',
  '/etc/killbill-openstack-bridge/config.yaml',
  '/etc/concertim-openstack-service/config.yaml',
];

export interface LoadConfigOptions {
  /** `--config PATH`; wins over BRIDGE_CONFIG and the search path. */
  configPath?: string;
  /** The environment to read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Files tried when no path is given. Default {@link DEFAULT_SEARCH_PATH}. */
  searchPath?: string[];
}

export interface LoadedConfig {
  config: BridgeConfig;
  /** The same values as written, durations as text (`'15m'`): what `bridge config check` shows. */
  written: WrittenConfig;
  /** Where each key's effective value came from. */
  origins: Map<string, ValueOrigin>;
  /** The file read, if any. */
  file?: string;
  /** Info lines to log once the logger exists. */
  notices: string[];
}

interface Leaf {
  key: string;
  env?: string;
  doc: string;
  default: unknown;
}

/** Every key of the schema with its env name and doc: the README table and `config check` use it too. */
export function schemaLeaves(
  node: Record<string, unknown> = schema as Record<string, unknown>,
  prefix = '',
): Leaf[] {
  const leaves: Leaf[] = [];
  for (const [name, value] of Object.entries(node)) {
    const key = prefix ? `${prefix}.${name}` : name;
    const v = value as Record<string, unknown>;
    if ('doc' in v && 'default' in v) {
      leaves.push({ key, env: v.env as string | undefined, doc: String(v.doc), default: v.default });
    } else {
      leaves.push(...schemaLeaves(v, key));
    }
  }
  return leaves;
}

/**
 * Builds the effective configuration: defaults, then the YAML file, then the environment. Every wrong
 * value is collected and thrown at once as a {@link ConfigError}, each naming its key and origin.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const leaves = schemaLeaves();
  const keys = new Set(leaves.map((l) => l.key));
  const origins = new Map<string, ValueOrigin>(leaves.map((l) => [l.key, { source: 'default', env: l.env }]));
  const problems: ConfigProblem[] = [];
  const notices: string[] = [];
  // The environment is applied by hand below, after the file, so that each value's origin is known.
  const config = createConfig();

  const file = resolveConfigFile(options, env);
  if (file) {
    const reading = readConfigFile(file.path, keys);
    problems.push(...reading.problems);
    notices.push(...reading.notices);
    for (const { key, value, origin } of reading.values) {
      config.set(key, value as never);
      origins.set(key, origin);
    }
  }

  for (const leaf of leaves) {
    if (leaf.env && env[leaf.env] !== undefined) {
      config.set(leaf.key, env[leaf.env] as never);
      origins.set(leaf.key, { source: 'env', name: leaf.env });
    }
  }

  if (problems.some((p) => p.key === '(config file)')) throw new ConfigError(problems);

  problems.push(...formatProblems(config, origins));
  const effective = config.getProperties();
  problems.push(...crossFieldProblems(effective, origins));
  problems.push(...addressClashProblems(effective, origins));
  problems.push(...redisProblems(effective, origins));
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: typedConfig(effective), written: effective, origins, file: file?.path, notices };
}

function resolveConfigFile(options: LoadConfigOptions, env: NodeJS.ProcessEnv): { path: string } | undefined {
  if (options.configPath) return { path: options.configPath };
  if (env.BRIDGE_CONFIG) return { path: env.BRIDGE_CONFIG };
  const found = (options.searchPath ?? DEFAULT_SEARCH_PATH).find((p) => existsSync(p));
  return found ? { path: found } : undefined;
}

/** Runs convict's per-key format checks and turns its text into one problem per key. */
function formatProblems(
  config: Convict.Config<WrittenConfig>,
  origins: Map<string, ValueOrigin>,
): ConfigProblem[] {
  try {
    config.validate({ allowed: 'warn', output: () => {} });
    return [];
  } catch (err) {
    const problems: ConfigProblem[] = [];
    for (const line of String((err as Error).message).split('\n')) {
      const m = /^([A-Za-z0-9_.]+): (.*?)(?:: value was .*)?$/.exec(line);
      if (!m) continue;
      const key = m[1]!;
      const value = config.has(key as never) ? config.get(key as never) : undefined;
      problems.push({
        key,
        message: m[2]!,
        origin: origins.get(key) ?? { source: 'default' },
        shown: showValue(key, value),
      });
    }
    return problems;
  }
}

type OriginOf = (key: string) => ValueOrigin;

// One of the two alone would leave the dashboard off while the operator believes it is protected and on.
function dashboardProblems(dash: WrittenConfig['dashboard'], origin: OriginOf): ConfigProblem[] {
  if ((dash.username === '') === (dash.password === '')) return [];
  const missing = dash.username ? 'dashboard.password' : 'dashboard.username';
  return [
    {
      key: missing,
      message:
        'the queue dashboard needs both a user and a password (or neither, to turn it off), and only one is set',
      origin: origin(missing),
    },
  ];
}

// Heat is found only through the Keystone catalog; without it every sync of a clustered project would fail.
function stackAttributionProblems(c: WrittenConfig, origin: OriginOf): ConfigProblem[] {
  if (c.cloudkitty.stackAttribution !== 'heat' || c.openstack.authUrl) return [];
  return [
    {
      key: 'cloudkitty.stackAttribution',
      message:
        "heat finds Heat's orchestration endpoint in the Keystone catalog: set OS_AUTH_URL with credentials, or choose groupby",
      origin: origin('cloudkitty.stackAttribution'),
    },
  ];
}

/** With OS_AUTH_URL set, Keystone needs a whole application credential, or a user, password and project. */
function keystoneCredentialProblems(os: WrittenConfig['openstack'], origin: OriginOf): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (!os.authUrl) return problems;
  const appCred = os.applicationCredentialId !== '' || os.applicationCredentialSecret !== '';
  if (appCred && (!os.applicationCredentialId || !os.applicationCredentialSecret)) {
    problems.push({
      key: 'openstack.applicationCredentialId',
      message:
        'an application credential needs both OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET',
      origin: origin(
        os.applicationCredentialId
          ? 'openstack.applicationCredentialId'
          : 'openstack.applicationCredentialSecret',
      ),
    });
  }
  if (appCred) return problems;
  if (!os.username && !os.userId) {
    problems.push({
      key: 'openstack.username',
      message:
        'OS_AUTH_URL is set, so a user is needed: OS_USERNAME or OS_USER_ID (or an application credential)',
      origin: origin('openstack.authUrl'),
    });
  }
  if (!os.password) {
    problems.push({
      key: 'openstack.password',
      message: 'OS_AUTH_URL is set, so OS_PASSWORD is needed (or an application credential)',
      origin: origin('openstack.password'),
    });
  }
  if (!os.projectId && !os.projectName) {
    problems.push({
      key: 'openstack.projectName',
      message: 'a token must be scoped to a project: set OS_PROJECT_NAME or OS_PROJECT_ID',
      origin: origin('openstack.projectName'),
    });
  }
  return problems;
}

function crossFieldProblems(c: WrittenConfig, origins: Map<string, ValueOrigin>): ConfigProblem[] {
  const origin: OriginOf = (key) => origins.get(key) ?? { source: 'default' };
  return [
    ...dashboardProblems(c.dashboard, origin),
    ...stackAttributionProblems(c, origin),
    ...keystoneCredentialProblems(c.openstack, origin),
  ];
}

/**
 * Only the commands that read CloudKitty (worker, start, sync) need it; the API and `setup` start without.
 * Checked by those commands before they start.
 */
export function requireCloudKitty(loaded: LoadedConfig): void {
  const c = loaded.config;
  if (c.openstack.authUrl || c.cloudkitty.url) return;
  throw new ConfigError([
    {
      key: 'cloudkitty.url',
      message:
        'this command reads CloudKitty: set CLOUDKITTY_URL, or OS_AUTH_URL with credentials to find it in the Keystone catalog',
      origin: loaded.origins.get('cloudkitty.url') ?? { source: 'default' },
    },
  ]);
}

export { SECRET_KEYS };
