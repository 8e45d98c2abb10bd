import { expect } from 'chai';
import { ConfigError, loadConfig, renderEffectiveConfig, requireCloudKitty } from '../../src/config/index.js';

const fixture = (name: string) => `test/fixtures/config/${name}.yaml`;
const TOKEN = 'test-callback-token-0123456789';

function problemsOf(fn: () => unknown): ConfigError['problems'] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

describe('configuration: defaults, YAML file, environment', () => {
  it('reads an existing concertim-openstack-service config.yaml as it is', () => {
    const loaded = loadConfig({
      configPath: fixture('concertim-config'),
      env: { BRIDGE_CALLBACK_TOKEN: TOKEN },
    });
    const c = loaded.config;
    expect(c.killbill).to.include({
      url: 'http://killbill.example:8080',
      username: 'admin',
      password: 'kb-secret-pw',
      apiKey: 'bob',
      apiSecret: 'lazar-secret',
      planName: 'openstack-standard-monthly',
    });
    expect(c.openstack).to.include({
      authUrl: 'http://keystone.example:5000/v3',
      username: 'admin',
      password: 'os-secret-pw',
      projectId: '0c9b6a1e2b8a4b6f9a0c9b6a1e2b8a4b',
      userDomainName: 'default',
      projectDomainName: 'default',
    });
    expect(c.log.level).to.equal('debug');
    expect(loaded.origins.get('killbill.apiKey')).to.deep.equal({
      source: 'file',
      file: fixture('concertim-config'),
      line: 25,
      col: 13,
    });
    expect(loaded.notices).to.have.length(1);
    expect(loaded.notices[0]).to.match(/ignoring blocks .*rmq, concertim/);
  });

  it('lets environment variables override the file, and records where each value came from', () => {
    const loaded = loadConfig({
      configPath: fixture('concertim-config'),
      env: {
        BRIDGE_CALLBACK_TOKEN: TOKEN,
        KILLBILL_URL: 'https://kb.internal:8443',
        OS_PASSWORD: 'from-env',
        PORT: '9191',
        REDIS_URL: 'redis://:pw@127.0.0.1:6390/2',
      },
    });
    expect(loaded.config.killbill.url).to.equal('https://kb.internal:8443');
    expect(loaded.config.openstack.password).to.equal('from-env');
    expect(loaded.config.server.port).to.equal(9191);
    expect(loaded.config.redis.url).to.equal('redis://:pw@127.0.0.1:6390/2');
    expect(loaded.origins.get('killbill.url')).to.deep.equal({ source: 'env', name: 'KILLBILL_URL' });
    expect(loaded.config.killbill.apiKey).to.equal('bob');
  });

  it('uses the first file of the search path when no path is given', () => {
    const loaded = loadConfig({
      env: { BRIDGE_CALLBACK_TOKEN: TOKEN },
      searchPath: ['test/fixtures/config/does-not-exist.yaml', fixture('concertim-config')],
    });
    expect(loaded.file).to.equal(fixture('concertim-config'));
  });

  it('names the key, what was expected and the file line of a wrong URL', () => {
    const [p, ...rest] = problemsOf(() => loadConfig({ configPath: fixture('broken-url'), env: {} }));
    expect(rest).to.have.length(0);
    expect(p!.key).to.equal('killbill.url');
    expect(p!.message).to.match(/expected an http:\/\/ or https:\/\/ URL/);
    expect(p!.origin).to.deep.include({ source: 'file', line: 2, col: 8 });
    expect(p!.shown).to.equal('"htp//not a url"');
  });

  it('names a missing Kill Bill API key and how to set it', () => {
    const problems = problemsOf(() => loadConfig({ configPath: fixture('missing-killbill-key'), env: {} }));
    expect(problems.map((p) => p.key)).to.deep.equal(['killbill.apiKey']);
    expect(new ConfigError(problems).message).to.include('set environment variable KILLBILL_API_KEY');
  });

  it('names the line and column of a YAML syntax error', () => {
    const [p] = problemsOf(() => loadConfig({ configPath: fixture('broken-syntax'), env: {} }));
    expect(p!.message).to.match(/^YAML syntax error: /);
    expect(p!.origin).to.deep.include({ source: 'file', line: 3, col: 11 });
  });

  it('reports every bad value at once, env values by their variable', () => {
    const problems = problemsOf(() =>
      loadConfig({
        searchPath: [],
        env: {
          KILLBILL_URL: 'ftp://kb',
          KILLBILL_API_KEY: 'bob',
          KILLBILL_API_SECRET: 'lazar',
          BRIDGE_CALLBACK_TOKEN: 'short',
          PORT: '99999',
          REDIS_URL: 'http://not-redis',
          BRIDGE_WINDOW_SIZE: '7h',
          OS_AUTH_URL: 'http://keystone:5000/v3',
        },
      }),
    );
    const byKey = Object.fromEntries(problems.map((p) => [p.key, p]));
    expect(Object.keys(byKey)).to.include.members([
      'killbill.url',
      'server.callbackToken',
      'server.port',
      'redis.url',
      'metering.windowSize',
      'openstack.username',
      'openstack.password',
    ]);
    expect(byKey['killbill.url']!.origin).to.deep.equal({ source: 'env', name: 'KILLBILL_URL' });
    // The token is secret: its value is never repeated back.
    expect(byKey['server.callbackToken']!.shown).to.equal('"********"');
  });

  it('starts without CloudKitty settings; the commands that read CloudKitty ask for them', () => {
    const loaded = loadConfig({
      searchPath: [],
      env: { KILLBILL_API_KEY: 'bob', KILLBILL_API_SECRET: 'lazar', BRIDGE_CALLBACK_TOKEN: TOKEN },
    });
    const [p] = problemsOf(() => requireCloudKitty(loaded));
    expect(p!.key).to.equal('cloudkitty.url');
    expect(p!.message).to.match(/set CLOUDKITTY_URL, or OS_AUTH_URL/);
  });

  it('attributes clusters by CloudKitty groupby unless told heat, which needs Keystone and a known value', () => {
    const base = { KILLBILL_API_KEY: 'bob', KILLBILL_API_SECRET: 'lazar', BRIDGE_CALLBACK_TOKEN: TOKEN };
    expect(loadConfig({ searchPath: [], env: base }).config.cloudkitty.stackAttribution).to.equal('groupby');
    const keystone = {
      OS_AUTH_URL: 'http://keystone.example:5000/v3',
      OS_USERNAME: 'bridge',
      OS_PASSWORD: 'pw',
      OS_PROJECT_NAME: 'admin',
    };
    const heat = { ...base, ...keystone, CLOUDKITTY_STACK_ATTRIBUTION: 'heat' };
    expect(loadConfig({ searchPath: [], env: heat }).config.cloudkitty.stackAttribution).to.equal('heat');

    const [noKeystone, ...rest] = problemsOf(() =>
      loadConfig({ searchPath: [], env: { ...base, CLOUDKITTY_STACK_ATTRIBUTION: 'heat' } }),
    );
    expect(rest).to.deep.equal([]);
    expect(noKeystone!.key).to.equal('cloudkitty.stackAttribution');
    expect(noKeystone!.message).to.match(/orchestration endpoint in the Keystone catalog: set OS_AUTH_URL/);
    expect(noKeystone!.origin).to.deep.equal({ source: 'env', name: 'CLOUDKITTY_STACK_ATTRIBUTION' });

    const [unknown] = problemsOf(() =>
      loadConfig({ searchPath: [], env: { ...base, ...keystone, CLOUDKITTY_STACK_ATTRIBUTION: 'nova' } }),
    );
    expect(unknown!.key).to.equal('cloudkitty.stackAttribution');
    expect(unknown!.message).to.match(/groupby.*heat/);
  });

  it('reads each duration once, into milliseconds, and still shows it as written', () => {
    const loaded = loadConfig({
      searchPath: [],
      env: {
        KILLBILL_API_KEY: 'bob',
        KILLBILL_API_SECRET: 'lazar',
        KILLBILL_TIMEOUT: '500ms',
        BRIDGE_SYNC_EVERY: '5m',
        BRIDGE_SETTLE_DELAY: '90s',
        BRIDGE_WINDOW_SIZE: '120s',
      },
    });
    const c = loaded.config;
    expect(c.killbill.timeoutMs).to.equal(500);
    expect(c.cloudkitty.timeoutMs).to.equal(60_000);
    expect(c.server.shutdownTimeoutMs).to.equal(30_000);
    expect(c.metering).to.include({
      settleDelayMs: 90_000,
      syncEveryMs: 300_000,
      recheckEveryMs: 6 * 3_600_000,
      lockTtlMs: 60_000,
    });
    expect(c.metering.windowSize).to.deep.equal({ ms: 120_000, label: '2m' });
    expect(c.registry.reconcileEveryMs).to.equal(3_600_000);
    expect(loaded.written.metering).to.include({ syncEvery: '5m', windowSize: '120s', settleDelay: '90s' });
    const shown = renderEffectiveConfig(loaded);
    expect(shown).to.include('metering.syncEvery = "5m"  (environment variable BRIDGE_SYNC_EVERY)');
    expect(shown).to.include('metering.lockTtl = "1m"  (the built-in default');
    expect(shown).to.include('killbill.timeout = "500ms"');
  });

  it('names what a duration or a window size should have been', () => {
    const base = { KILLBILL_API_KEY: 'bob', KILLBILL_API_SECRET: 'lazar' };
    const problem = (env: Record<string, string>) => {
      const [p, ...rest] = problemsOf(() => loadConfig({ searchPath: [], env: { ...base, ...env } }));
      expect(rest).to.deep.equal([]);
      return p!;
    };
    expect(problem({ BRIDGE_LOCK_TTL: '1 minute' })).to.deep.include({
      key: 'metering.lockTtl',
      message: 'expected a duration such as 500ms, 30s, 15m, 2h or 1d',
      origin: { source: 'env', name: 'BRIDGE_LOCK_TTL' },
      shown: '"1 minute"',
    });
    expect(problem({ BRIDGE_WINDOW_SIZE: '7h' })).to.deep.include({
      key: 'metering.windowSize',
      message: 'expected a window size that divides a day, from 1m to 1d (e.g. 1h, 1d)',
    });
    // 90 s divides a day, but a tracking id cannot name a window that starts between minutes.
    expect(problem({ BRIDGE_WINDOW_SIZE: '90s' })).to.deep.include({
      key: 'metering.windowSize',
      message: 'expected a whole number of minutes, e.g. 15m or 2h',
    });
  });

  it('rejects an unknown key in the file with its line', () => {
    const problems = problemsOf(() => loadConfig({ configPath: fixture('unknown-key'), env: {} }));
    const p = problems.find((x) => x.key === 'killbill.apikee');
    expect(p, JSON.stringify(problems)).to.exist;
    expect(p!.origin).to.deep.include({ line: 3 });
  });
});
