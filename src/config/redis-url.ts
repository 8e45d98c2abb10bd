import { RedisUrlError } from '../errors/input-errors.js';

/**
 * `redis.url` names one of three Redis topologies. WHATWG URLs cannot hold a list of hosts, so the
 * Sentinel and Cluster forms are parsed here:
 *
 *   redis://[[user]:password@]host[:port][/db]              one Redis (rediss:// over TLS)
 *   redis-sentinel://[[user]:password@]host:port[,host:port…]/masterName[?db=N&sentinelPassword=…&sentinelTimeout=ms]
 *   redis-cluster://[[user]:password@]host:port[,host:port…]
 *
 * `rediss-sentinel://` and `rediss-cluster://` are the same over TLS. The user and password are those of
 * the Redis servers; Sentinels that ask for their own password get `sentinelPassword`.
 */

export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTopology =
  | ({ kind: 'single'; url: string } & Credentials)
  | ({
      kind: 'sentinel';
      sentinels: RedisNode[];
      masterName: string;
      db: number;
      sentinelPassword?: string;
      /** How long one Sentinel may take to answer before the next is asked. */
      sentinelTimeoutMs: number;
    } & Credentials)
  | ({ kind: 'cluster'; nodes: RedisNode[] } & Credentials);

/**
 * A Sentinel that accepts the connection but does not answer (its process hung, its machine paused) would
 * hold a reconnect forever; after this long the next Sentinel is asked.
 */
export const SENTINEL_TIMEOUT_MS = 5_000;

export type RedisTopologyKind = RedisTopology['kind'];

export const REDIS_URL_FORMS =
  'redis://host:6379, rediss://host:6380, redis-sentinel://host1:26379,host2:26379/mymaster ' +
  'or redis-cluster://host1:7000,host2:7001';

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i;
const DEFAULT_PORT = { sentinel: 26379, cluster: 6379 } as const;

/** The topology a `redis.url` names; throws {@link RedisUrlError} saying what is wrong. */
export function parseRedisUrl(text: string): RedisTopology {
  const m = SCHEME.exec(text.trim());
  if (!m) throw new RedisUrlError(`expected a URL such as ${REDIS_URL_FORMS}`);
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return parseSingle(text.trim(), scheme === 'rediss');
  const multi = /^(rediss?)-(sentinel|cluster)$/.exec(scheme);
  if (!multi) throw new RedisUrlError(`unknown scheme ${scheme}://; expected ${REDIS_URL_FORMS}`);
  const kind = multi[2] as 'sentinel' | 'cluster';
  const tls = multi[1] === 'rediss';
  const rest = m[2]!;
  const at = rest.lastIndexOf('@', firstOf(rest, '/?'));
  const credentials = at >= 0 ? parseUserInfo(rest.slice(0, at)) : {};
  const afterUser = rest.slice(at + 1);
  const q = afterUser.indexOf('?');
  const [location, query] = q >= 0 ? [afterUser.slice(0, q), afterUser.slice(q + 1)] : [afterUser, ''];
  const slash = location.indexOf('/');
  const hostList = slash >= 0 ? location.slice(0, slash) : location;
  const path = slash >= 0 ? location.slice(slash + 1) : '';
  const nodes = parseHosts(hostList, DEFAULT_PORT[kind], kind);
  const params = new URLSearchParams(query);
  if (kind === 'cluster') {
    if (path !== '')
      throw new RedisUrlError('a Redis Cluster has only database 0: drop the path after the hosts');
    checkParams(params, [], kind);
    return { kind, nodes, tls, ...credentials };
  }
  const masterName = decodeURIComponent(path.replace(/\/+$/, ''));
  if (masterName === '' || masterName.includes('/')) {
    throw new RedisUrlError('expected the master name after the Sentinel hosts, e.g. /mymaster');
  }
  checkParams(params, ['db', 'sentinelPassword', 'sentinelTimeout'], kind);
  const db = params.get('db') ?? '0';
  if (!/^\d+$/.test(db)) throw new RedisUrlError(`db must be a database number, not ${JSON.stringify(db)}`);
  const sentinelPassword = params.get('sentinelPassword') ?? undefined;
  const timeout = params.get('sentinelTimeout') ?? String(SENTINEL_TIMEOUT_MS);
  if (!/^[1-9]\d*$/.test(timeout))
    throw new RedisUrlError(
      `sentinelTimeout must be milliseconds (a whole number > 0), not ${JSON.stringify(timeout)}`,
    );
  const base = { kind, sentinels: nodes, masterName, db: Number(db), tls, sentinelPassword };
  return { ...base, sentinelTimeoutMs: Number(timeout), ...credentials };
}

function parseSingle(text: string, tls: boolean): RedisTopology {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new RedisUrlError(`expected a URL such as ${REDIS_URL_FORMS}`);
  }
  if (u.hostname === '') throw new RedisUrlError('the URL names no host, e.g. redis://127.0.0.1:6379');
  if (u.pathname.length > 1 && !/^\/\d+$/.test(u.pathname)) {
    throw new RedisUrlError('the path must be a database number, e.g. redis://127.0.0.1:6379/0');
  }
  return {
    kind: 'single',
    url: text,
    tls,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

function firstOf(text: string, chars: string): number {
  const found = [...chars].map((c) => text.indexOf(c)).filter((i) => i >= 0);
  return found.length ? Math.min(...found) : text.length;
}

function parseUserInfo(info: string): { username?: string; password?: string } {
  const colon = info.indexOf(':');
  const user = colon >= 0 ? info.slice(0, colon) : info;
  const password = colon >= 0 ? info.slice(colon + 1) : '';
  return {
    username: user ? decodeURIComponent(user) : undefined,
    password: password ? decodeURIComponent(password) : undefined,
  };
}

function parseHosts(list: string, defaultPort: number, kind: string): RedisNode[] {
  if (list.trim() === '')
    throw new RedisUrlError(`expected at least one ${kind} host, e.g. host1:${defaultPort}`);
  return list.split(',').map((item) => {
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(item.trim());
    const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
    if (!m || port < 1 || port > 65535) {
      throw new RedisUrlError(`${JSON.stringify(item)} is not a host[:port] of the ${kind} list`);
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

function checkParams(params: URLSearchParams, allowed: string[], kind: string): void {
  for (const name of params.keys()) {
    if (!allowed.includes(name)) {
      const known = allowed.length ? `; known: ${allowed.join(', ')}` : '';
      throw new RedisUrlError(`unknown ${kind} URL parameter ${JSON.stringify(name)}${known}`);
    }
  }
}

/** The URL as it may be shown: every password (the servers' and the Sentinels') replaced by `mask`. */
export function maskRedisUrl(text: string, mask = '****'): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?@:]*:)[^@/?]*@/i, (_m, head: string) => `${head}${mask}@`)
    .replace(/([?&]sentinelPassword=)[^&]*/g, (_m, head: string) => `${head}${mask}`);
}

/**
 * The Cluster hash tag Redis reads from keys that start with `prefix`: the text between the first `{`
 * and the next `}`, if not empty. Undefined when the prefix has none, so keys would spread over slots.
 */
export function hashTagOf(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  if (open < 0) return undefined;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}
