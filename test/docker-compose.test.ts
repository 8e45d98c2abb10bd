/**
 * The Docker dev stack, checked by parsing (there is no Docker engine where the tests run):
 * docker-compose.yml, the Dockerfile, .dockerignore, docs/docker.md, and the container health-check
 * script, which is run for real against a local HTTP server and a real redis-server.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { RedisServer } from './support/redis-server.js';
import { freePort } from './support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string): string => readFileSync(join(root, p), 'utf8');

type Dict = Record<string, unknown>;

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

interface Service {
  image?: string;
  build?: string | Dict;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | Dict>;
  expose?: string[];
  volumes?: Array<string | Dict>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: Healthcheck;
  restart?: string;
  init?: boolean;
}

interface Compose {
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

/** Compose interpolation with an empty shell environment: `${VAR:-default}`, `${VAR-default}`, `${VAR}`, `$$`. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (whole, name, op, dflt) => {
    if (whole === '$$') return '$';
    const v = env[name as string];
    if (op === ':-') return v ? v : (dflt as string);
    if (op === '-') return v !== undefined ? v : (dflt as string);
    return v ?? '';
  });
}

/** The environment a container gets, defaults applied; pass-through variables (null) are left out. */
function envOf(name: string): Record<string, string> {
  const env = service(name).environment;
  expect(env, `${name}.environment`).to.be.an('object').and.not.be.an('array');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    out[k] = interpolate(String(v));
  }
  return out;
}

function passThrough(name: string): string[] {
  const env = service(name).environment as Record<string, unknown>;
  return Object.entries(env)
    .filter(([, v]) => v === null)
    .map(([k]) => k);
}

function argv(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean);
}

function healthTest(name: string): string {
  const hc = service(name).healthcheck;
  expect(hc, `${name}.healthcheck`).to.be.an('object');
  expect(hc!.disable, `${name}.healthcheck.disable`).to.not.equal(true);
  const test = hc!.test;
  expect(test, `${name}.healthcheck.test`).to.exist;
  if (Array.isArray(test)) {
    expect(test[0]).to.be.oneOf(['CMD', 'CMD-SHELL']);
    return test.slice(1).join(' ');
  }
  return test as string;
}

function dependsOn(name: string): Record<string, string | undefined> {
  const d = service(name).depends_on;
  expect(d, `${name}.depends_on must be the long form with conditions`)
    .to.be.an('object')
    .and.not.be.an('array');
  return Object.fromEntries(
    Object.entries(d as Record<string, { condition?: string }>).map(([k, v]) => [k, v.condition]),
  );
}

const BRIDGE = ['setup', 'bridge-api', 'bridge-worker'];
const LONG_RUNNING = ['db', 'killbill', 'kaui', 'redis', 'bridge-api', 'bridge-worker'];

describe('docker-compose.yml', () => {
  it('has exactly the stack services', () => {
    expect(Object.keys(services).sort()).to.deep.equal(
      ['bridge-api', 'bridge-worker', 'db', 'kaui', 'killbill', 'redis', 'setup'].sort(),
    );
    expect(compose.name).to.equal('killbill-openstack-bridge');
  });

  it('pins Kill Bill 0.24.x (>= 0.24.10), Kaui 3.0.x, killbill/mariadb:0.24 and redis:7', () => {
    const kb = /^killbill\/killbill:0\.24\.(\d+)$/.exec(service('killbill').image ?? '');
    expect(kb, `killbill image ${service('killbill').image}`).to.not.equal(null);
    expect(Number(kb![1])).to.be.at.least(10);
    expect(service('kaui').image).to.match(/^killbill\/kaui:3\.0\.\d+$/);
    expect(service('db').image).to.equal('killbill/mariadb:0.24');
    expect(service('redis').image).to.equal('redis:7');
  });

  it('publishes only Kill Bill 8080, Kaui 9090 and the bridge API, on loopback', () => {
    const published: Record<string, unknown> = {};
    for (const [name, s] of Object.entries(services)) if (s.ports) published[name] = s.ports;
    expect(published).to.deep.equal({
      killbill: ['127.0.0.1:8080:8080'],
      kaui: ['127.0.0.1:9090:8080'],
      'bridge-api': ['127.0.0.1:8081:8081'],
    });
  });

  it('builds the three bridge services from the one Dockerfile into one image', () => {
    for (const name of BRIDGE) {
      expect(service(name).build, `${name}.build`).to.equal('.');
      expect(service(name).image, `${name}.image`).to.equal('killbill-openstack-bridge:dev');
    }
    expect(existsSync(join(root, 'Dockerfile'))).to.equal(true);
  });

  it('runs `api` and `worker` through the image entrypoint', () => {
    expect(service('bridge-api').entrypoint).to.equal(undefined);
    expect(argv(service('bridge-api').command)).to.deep.equal(['api']);
    expect(service('bridge-worker').entrypoint).to.equal(undefined);
    expect(argv(service('bridge-worker').command)).to.deep.equal(['worker']);
    expect(service('bridge-api').init).to.equal(true);
    expect(service('bridge-worker').init).to.equal(true);
  });

  it('runs `bridge setup --create-tenant` once, and `run --rm setup ARGS` means `bridge setup ARGS`', () => {
    const s = service('setup');
    expect(argv(s.entrypoint)).to.deep.equal(['node', 'bin/bridge.js', 'setup']);
    expect(argv(s.command)).to.deep.equal(['--create-tenant']);
    expect(s.restart).to.equal('no');
    expect(s.ports).to.equal(undefined);
    expect(s.healthcheck?.disable).to.equal(true);
  });

  it('orders start-up on health: db -> killbill -> setup -> api/worker', () => {
    expect(dependsOn('killbill')).to.deep.equal({ db: 'service_healthy' });
    expect(dependsOn('kaui')).to.deep.equal({ db: 'service_healthy', killbill: 'service_healthy' });
    expect(dependsOn('setup')).to.deep.equal({ killbill: 'service_healthy' });
    for (const name of ['bridge-api', 'bridge-worker']) {
      expect(dependsOn(name), name).to.deep.equal({
        redis: 'service_healthy',
        setup: 'service_completed_successfully',
      });
    }
    expect(service('redis').depends_on).to.equal(undefined);
    expect(service('db').depends_on).to.equal(undefined);
  });

  it('gives every long-running service a health check that probes the right thing', () => {
    expect(healthTest('killbill')).to.match(/^curl -fsS .*http:\/\/127\.0\.0\.1:8080\/1\.0\/healthcheck$/);
    expect(healthTest('kaui')).to.match(/^curl -fsS .*http:\/\/127\.0\.0\.1:8080\/$/);
    expect(healthTest('redis')).to.equal('redis-cli ping');
    const db = healthTest('db');
    expect(db).to.include('mariadb-admin ping').and.include('mysqladmin ping').and.include('-h 127.0.0.1');
    // $$ is compose's escape: the container shell must see $MYSQL_ROOT_PASSWORD, not an empty interpolation.
    expect(interpolate(db)).to.include('-p"$MYSQL_ROOT_PASSWORD"');
    expect(healthTest('bridge-api')).to.equal('node docker/healthcheck.mjs http');
    expect(healthTest('bridge-worker')).to.equal('node docker/healthcheck.mjs redis');
    for (const name of LONG_RUNNING) {
      const hc = service(name).healthcheck!;
      expect(hc.interval, `${name}.healthcheck.interval`).to.match(/^\d+s$/);
      expect(hc.retries, `${name}.healthcheck.retries`).to.be.a('number').and.at.least(3);
      expect(service(name).restart, `${name}.restart`).to.equal('unless-stopped');
    }
    // Kill Bill takes minutes on first start; it must not be declared unhealthy before that.
    expect(parseInt(service('killbill').healthcheck!.start_period ?? '0', 10)).to.be.at.least(120);
  });

  it('runs redis 7 with noeviction and appendonly on a volume', () => {
    const r = service('redis');
    const cmd = argv(r.command);
    expect(cmd[0]).to.equal('redis-server');
    const flag = (f: string) => cmd[cmd.indexOf(f) + 1];
    expect(cmd).to.include('--maxmemory-policy');
    expect(flag('--maxmemory-policy')).to.equal('noeviction');
    expect(cmd).to.include('--appendonly');
    expect(flag('--appendonly')).to.equal('yes');
    expect(r.volumes).to.deep.equal(['redis:/data']);
    expect(compose.volumes).to.have.all.keys('db', 'redis');
  });

  it('points Kill Bill and Kaui at the db and shortens push retries for development', () => {
    const kb = envOf('killbill');
    expect(kb.KILLBILL_DAO_URL).to.equal('jdbc:mysql://db:3306/killbill');
    expect(kb.KILLBILL_DAO_USER).to.equal('root');
    expect(kb.KILLBILL_DAO_PASSWORD).to.equal(envOf('db').MYSQL_ROOT_PASSWORD);
    expect(kb.KB_ADMIN_PASSWORD).to.equal('password');
    expect(kb.KB_org_killbill_billing_server_notifications_retries).to.equal('1m,5m,15m');
    expect(kb.KILLBILL_SERVER_NOTIFICATIONS_RETRIES).to.equal('1m,5m,15m');
    expect(service('db').volumes).to.deep.equal(['db:/var/lib/mysql']);

    const kaui = envOf('kaui');
    expect(kaui).to.include({
      KAUI_CONFIG_DAO_URL: 'jdbc:mysql://db:3306/kaui',
      KAUI_CONFIG_DAO_USER: 'root',
      KAUI_CONFIG_DAO_PASSWORD: 'killbill',
      KAUI_KILLBILL_URL: 'http://killbill:8080',
      KAUI_KILLBILL_API_KEY: 'bob',
      KAUI_KILLBILL_API_SECRET: 'lazar',
    });
  });

  it('gives each bridge service the environment it needs, reaching the other containers by name', () => {
    for (const name of BRIDGE) {
      const env = envOf(name);
      expect(env, name).to.include({
        REDIS_URL: 'redis://redis:6379',
        KILLBILL_URL: 'http://killbill:8080',
        KILLBILL_USERNAME: 'admin',
        KILLBILL_PASSWORD: 'password',
        KILLBILL_API_KEY: 'bob',
        KILLBILL_API_SECRET: 'lazar',
        BRIDGE_PUBLIC_URL: 'http://bridge-api:8081',
        PORT: '8081',
        LOG_LEVEL: 'info',
      });
      // The bridge's own config rejects a token shorter than 16 URL-safe characters.
      expect(env.BRIDGE_CALLBACK_TOKEN, name).to.match(/^[A-Za-z0-9._~-]{16,}$/);
    }
    // Kill Bill's admin password and the bridge's must be the same variable, or setup gets a 401.
    const raw = service('bridge-api').environment as Record<string, string>;
    expect(raw.KILLBILL_PASSWORD).to.equal('${KILLBILL_PASSWORD:-password}');
    expect((service('killbill').environment as Record<string, string>).KB_ADMIN_PASSWORD).to.equal(
      '${KILLBILL_PASSWORD:-password}',
    );
  });

  it('passes OpenStack settings through from the host only when set there (no empty strings)', () => {
    const os = [
      'CLOUDKITTY_URL',
      'OS_AUTH_URL',
      'OS_USERNAME',
      'OS_PASSWORD',
      'OS_USER_ID',
      'OS_PROJECT_NAME',
      'OS_PROJECT_ID',
      'OS_USER_DOMAIN_NAME',
      'OS_PROJECT_DOMAIN_NAME',
      'OS_REGION_NAME',
      'OS_INTERFACE',
      'OS_APPLICATION_CREDENTIAL_ID',
      'OS_APPLICATION_CREDENTIAL_SECRET',
    ];
    for (const name of BRIDGE) expect(passThrough(name).sort(), name).to.deep.equal([...os].sort());
  });

  it('commits no real secret: every credential is a ${VAR:-default} with a known development default', () => {
    const secretish = /PASSWORD|SECRET|TOKEN/;
    const devDefaults = new Set(['password', 'killbill', 'lazar', 'dev-only-insecure-callback-token']);
    for (const [name, s] of Object.entries(services)) {
      for (const [k, v] of Object.entries((s.environment ?? {}) as Record<string, unknown>)) {
        if (!secretish.test(k) || v === null) continue;
        const m = /^\$\{[A-Z_]+:-([^}]*)\}$/.exec(String(v));
        expect(m, `${name}.${k} = ${String(v)} must be \${VAR:-default}`).to.not.equal(null);
        expect(devDefaults.has(m![1]!), `${name}.${k} default ${m![1]}`).to.equal(true);
      }
    }
    expect(envOf('bridge-api').BRIDGE_CALLBACK_TOKEN).to.include('dev-only');
  });

  it('has a bridge environment the bridge configuration loader accepts, with a CloudKitty or a Keystone', async function () {
    // The loader is another module of this repository; import it by a computed path so this file still
    // type-checks if it moves, and skip (not pass) if it is not there.
    const loaderPath = '../src/config/index.js';
    type Loader = (o: { env: Record<string, string>; searchPath: string[] }) => { config: Dict };
    let loadConfig: Loader | undefined;
    try {
      loadConfig = ((await import(loaderPath)) as { loadConfig?: Loader }).loadConfig;
    } catch {
      loadConfig = undefined;
    }
    if (typeof loadConfig !== 'function') this.skip();
    for (const name of BRIDGE) {
      const env = envOf(name);
      // A user with a CloudKitty that needs no auth:
      const ck = loadConfig!({
        env: { ...env, CLOUDKITTY_URL: 'http://host.docker.internal:8889' },
        searchPath: [],
      });
      expect(ck.config.server, name).to.include({
        port: 8081,
        publicUrl: 'http://bridge-api:8081',
        callbackToken: 'dev-only-insecure-callback-token',
      });
      expect(ck.config.redis, name).to.include({ url: 'redis://redis:6379' });
      expect(ck.config.killbill, name).to.include({
        url: 'http://killbill:8080',
        username: 'admin',
        password: 'password',
        apiKey: 'bob',
        apiSecret: 'lazar',
      });
      // A user who sourced a Keystone openrc file (no CLOUDKITTY_URL: the Keystone catalog gives it):
      const ks = loadConfig!({
        env: {
          ...env,
          OS_AUTH_URL: 'https://keystone.example.com:5000/v3',
          OS_USERNAME: 'billing',
          OS_PASSWORD: 'x',
          OS_PROJECT_NAME: 'admin',
        },
        searchPath: [],
      });
      expect(ks.config.cloudkitty, name).to.include({ url: '' });
    }
  });
});

/** Dockerfile instructions with line continuations joined, by stage. */
function dockerfile(): Array<{ from: string; name: string | undefined; lines: string[] }> {
  const text = read('Dockerfile').replace(/\\\r?\n/g, ' ');
  const args: Record<string, string> = {};
  const stages: Array<{ from: string; name: string | undefined; lines: string[] }> = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/\s+/g, ' ');
    if (!line || line.startsWith('#')) continue;
    const arg = /^ARG (\w+)=(\S+)$/.exec(line);
    if (arg && stages.length === 0) {
      args[arg[1]!] = arg[2]!;
      continue;
    }
    const from = /^FROM (\S+)(?: AS (\S+))?$/i.exec(line);
    if (from) {
      const image = from[1]!.replace(/\$\{(\w+)\}/g, (_, n: string) => args[n] ?? '');
      stages.push({ from: image, name: from[2], lines: [] });
      continue;
    }
    stages.at(-1)?.lines.push(line);
  }
  return stages;
}

describe('Dockerfile', () => {
  const stages = dockerfile();
  const [build, runtime] = stages;

  it('has two stages, build and runtime, both on node:20-bookworm-slim', () => {
    expect(stages.map((s) => s.name)).to.deep.equal(['build', 'runtime']);
    for (const s of stages) expect(s.from).to.equal('node:20-bookworm-slim');
  });

  it('installs with npm ci, builds, checks the CLI was built, and prunes dev dependencies', () => {
    const run = build!.lines.filter((l) => l.startsWith('RUN ')).join(' && ');
    const order = ['npm ci', 'npm run build', 'test -f dist/src/app/main.js', 'npm prune --omit=dev'].map(
      (c) => run.indexOf(c),
    );
    expect(
      order.every((i) => i >= 0),
      `RUN lines: ${run}`,
    ).to.equal(true);
    expect([...order].sort((a, b) => a - b)).to.deep.equal(order);
    // package files are copied (and npm ci run) before the sources, so the install layer is cached.
    const copyPkg = build!.lines.findIndex((l) => l.startsWith('COPY package.json package-lock.json'));
    const copyAll = build!.lines.findIndex((l) => l === 'COPY . .');
    expect(copyPkg).to.be.within(0, copyAll - 1);
  });

  it('ships only built output and production modules, as a non-root user', () => {
    const l = runtime!.lines;
    for (const what of [
      '/app/node_modules',
      '/app/dist',
      '/app/bin',
      '/app/catalog',
      '/app/docker/healthcheck.mjs',
    ]) {
      expect(
        l.some((x) => x.startsWith('COPY --from=build ') && x.includes(what)),
        what,
      ).to.equal(true);
    }
    expect(l.filter((x) => x.startsWith('COPY ') && !x.startsWith('COPY --from=build '))).to.deep.equal([]);
    expect(l).to.include('USER node');
    expect(l.findIndex((x) => x === 'USER node')).to.be.below(l.findIndex((x) => x.startsWith('ENTRYPOINT')));
    expect(l).to.include('EXPOSE 8081');
    expect(l.some((x) => /^ENV .*NODE_ENV=production/.test(x))).to.equal(true);
  });

  it('runs `node bin/bridge.js start` by default and checks /healthz with node', () => {
    const l = runtime!.lines;
    expect(l).to.include('ENTRYPOINT ["node", "bin/bridge.js"]');
    expect(l).to.include('CMD ["start"]');
    const hc = l.find((x) => x.startsWith('HEALTHCHECK '));
    expect(hc).to.match(/CMD \["node", "docker\/healthcheck\.mjs", "http"\]$/);
    expect(hc).to.not.match(/curl|wget/);
    expect(read('docker/healthcheck.mjs')).to.include('/healthz');
    // bin/bridge.js must run the same compiled file the build checks for.
    expect(read('bin/bridge.js')).to.match(/'dist', 'src', 'app', 'main\.js'/);
    expect((JSON.parse(read('package.json')) as { scripts: Dict }).scripts.build).to.equal(
      'tsc -p tsconfig.build.json',
    );
  });
});

describe('.dockerignore', () => {
  const entries = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('keeps out node_modules, dist, .git, test and bench', () => {
    expect(entries).to.include.members(['node_modules', 'dist', '.git', 'test', 'bench', '.env']);
  });

  it('keeps in what the build and the runtime image need', () => {
    for (const needed of [
      'src',
      'bin',
      'catalog',
      'docker',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
    ]) {
      expect(entries, needed).to.not.include(needed);
      expect(
        entries.some((e) => e.startsWith('!')),
        'no re-include tricks',
      ).to.equal(false);
    }
    expect(entries.filter((e) => /^(src|bin|catalog|docker|tsconfig[\w.]*)(\/.*)?$/.test(e))).to.deep.equal(
      [],
    );
  });
});

describe('docs/docker.md', () => {
  const doc = read('docs/docker.md');

  it('is a "Run it with Docker" section with the commands a person needs', () => {
    expect(doc).to.match(/^## Run it with Docker$/m);
    for (const cmd of [
      'docker compose up -d',
      'docker compose logs -f bridge-api bridge-worker',
      'docker compose run --rm setup --account',
      'docker compose down -v',
      'http://localhost:8080',
      'http://localhost:9090',
      'http://localhost:8081',
    ]) {
      expect(doc, cmd).to.include(cmd);
    }
  });

  it('names only services that exist', () => {
    const names = new Set(Object.keys(services));
    // `logs`, `restart`, `stop`, `start` take a list of services; `run --rm` and `exec` take one, then a command.
    const many = [
      ...doc.matchAll(/docker compose (?:logs(?: -f)?|restart|stop|start)((?: [a-z][a-z-]*)+)/g),
    ].flatMap((m) => m[1]!.trim().split(' '));
    const one = [...doc.matchAll(/docker compose (?:run --rm|exec) ([a-z][a-z-]*)/g)].map((m) => m[1]!);
    expect(many).to.include.members(['bridge-api', 'bridge-worker', 'setup', 'killbill']);
    expect(one).to.include.members(['setup', 'bridge-worker']);
    for (const w of [...many, ...one]) expect(names.has(w), `docker compose ... ${w}`).to.equal(true);
  });
});

function runHealthcheck(mode: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'docker/healthcheck.mjs'), mode],
      { env: { PATH: process.env.PATH ?? '', HEALTHCHECK_TIMEOUT_MS: '2000', ...env }, timeout: 10_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, out: stdout + stderr });
      },
    );
  });
}

describe('docker/healthcheck.mjs (the containers’ health check)', () => {
  let http: Server;
  let status = 200;
  let paths: string[] = [];
  let port = 0;
  let redis: RedisServer;

  before(async () => {
    http = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.statusCode = status;
      res.end('{}');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    port = (http.address() as AddressInfo).port;
    redis = await RedisServer.start();
  });
  after(async () => {
    await new Promise<void>((r) => http.close(() => r()));
    await redis?.close();
  });
  beforeEach(() => {
    paths = [];
    status = 200;
  });

  it('http: healthy when GET /healthz on $PORT answers 2xx', async () => {
    const r = await runHealthcheck('http', { PORT: String(port) });
    expect(r.code, r.out).to.equal(0);
    expect(paths).to.deep.equal(['/healthz']);
  });

  it('http: unhealthy on 503, and when nothing listens', async () => {
    status = 503;
    const r = await runHealthcheck('http', { PORT: String(port) });
    expect(r.code).to.equal(1);
    expect(r.out).to.include('503');
    const closed = await runHealthcheck('http', { PORT: String(await freePort()) });
    expect(closed.code).to.equal(1);
  });

  it('redis: healthy when $REDIS_URL answers PONG, unhealthy when nothing listens', async () => {
    const ok = await runHealthcheck('redis', { REDIS_URL: redis.url });
    expect(ok.code, ok.out).to.equal(0);
    expect(ok.out).to.include('PONG');
    const down = await runHealthcheck('redis', { REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(down.code).to.equal(1);
  });

  it('redis: sends AUTH from the URL, reports the error without the password', async () => {
    const c = redis.client();
    try {
      await c.config('SET', 'requirepass', 's3cret-for-test');
      const bad = await runHealthcheck('redis', { REDIS_URL: redis.url.replace('//', '//:wrong-password@') });
      expect(bad.code).to.equal(1);
      expect(bad.out).to.not.include('wrong-password');
      const good = await runHealthcheck('redis', {
        REDIS_URL: redis.url.replace('//', '//:s3cret-for-test@'),
      });
      expect(good.code, good.out).to.equal(0);
    } finally {
      await c.config('SET', 'requirepass', '');
      c.disconnect();
    }
  });

  it('rejects an unknown mode', async () => {
    const r = await runHealthcheck('tcp', {});
    expect(r.code).to.equal(1);
  });
});
