import { expect } from 'chai';
import { ConfigError, loadConfig, showValue } from '../../src/config/index.js';
import { hashTagOf, maskRedisUrl, parseRedisUrl } from '../../src/config/redis-url.js';
import { shownUrl } from '../../src/config/masking.js';

const TOKEN = 'test-callback-token-0123456789';

function problemsOf(env: Record<string, string>): ConfigError['problems'] {
  try {
    loadConfig({
      searchPath: [],
      env: { BRIDGE_CALLBACK_TOKEN: TOKEN, KILLBILL_API_KEY: 'bob', KILLBILL_API_SECRET: 'lazar', ...env },
    });
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

describe('redis.url: one Redis, Sentinel or Cluster', () => {
  it('reads redis:// and rediss:// as one Redis, with or without TLS', () => {
    expect(parseRedisUrl('redis://:pw@127.0.0.1:6379/2')).to.deep.include({
      kind: 'single',
      tls: false,
      password: 'pw',
    });
    expect(parseRedisUrl('rediss://user:p%40ss@redis.example:6380')).to.deep.include({
      kind: 'single',
      tls: true,
      username: 'user',
      password: 'p@ss',
    });
  });

  it('reads a Sentinel URL: the Sentinels, the master name, db and the Sentinels’ own password', () => {
    expect(
      parseRedisUrl('redis-sentinel://:pw@s1:26379,s2,[::1]:26380/mymaster?db=3&sentinelPassword=sp'),
    ).to.deep.equal({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      masterName: 'mymaster',
      db: 3,
      tls: false,
      sentinelPassword: 'sp',
      sentinelTimeoutMs: 5000,
      username: undefined,
      password: 'pw',
    });
    expect(parseRedisUrl('rediss-sentinel://s1:26379/m')).to.deep.include({ kind: 'sentinel', tls: true });
    expect(parseRedisUrl('redis-sentinel://s1/m?sentinelTimeout=1500')).to.deep.include({
      sentinelTimeoutMs: 1500,
    });
  });

  it('reads a Cluster URL: its seed nodes', () => {
    expect(parseRedisUrl('redis-cluster://a:7000,b:7001')).to.deep.equal({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      tls: false,
    });
    expect(parseRedisUrl('rediss-cluster://u:pw@a:7000')).to.deep.include({ tls: true, password: 'pw' });
  });

  it('refuses what it cannot use, saying what is wrong', () => {
    const wrong: Array<[string, RegExp]> = [
      ['http://127.0.0.1:6379', /unknown scheme http:\/\//],
      ['127.0.0.1:6379', /expected a URL such as redis:\/\//],
      ['redis://127.0.0.1:6379/zero', /database number/],
      ['redis-sentinel://s1:26379', /master name/],
      ['redis-sentinel://s1:26379/a/b', /master name/],
      ['redis-sentinel://s1:26379/m?db=x', /db must be a database number/],
      ['redis-sentinel://s1:26379/m?sentinelTimeout=0', /sentinelTimeout must be milliseconds/],
      ['redis-sentinel://s1:26379/m?sentinelTimeout=5s', /sentinelTimeout must be milliseconds/],
      ['redis-sentinel://s1:26379/m?password=x', /unknown sentinel URL parameter "password"/],
      ['redis-sentinel:///m', /at least one sentinel host/],
      ['redis-cluster://a:7000,b:99999', /"b:99999" is not a host\[:port\]/],
      ['redis-cluster://a:7000/1', /only database 0/],
    ];
    for (const [url, message] of wrong) expect(() => parseRedisUrl(url), url).to.throw(message);
  });

  it('never shows a password: the servers’ or the Sentinels’', () => {
    const url = 'redis-sentinel://u:s3cret@s1:26379,s2:26379/m?sentinelPassword=t0p&db=1';
    expect(maskRedisUrl(url)).to.equal(
      'redis-sentinel://u:****@s1:26379,s2:26379/m?sentinelPassword=****&db=1',
    );
    expect(shownUrl(url)).to.not.match(/s3cret|t0p/);
    expect(shownUrl('redis-cluster://:pw@a:7000,b:7001')).to.equal('redis-cluster://:****@a:7000,b:7001');
    expect(shownUrl('redis://:pw@10.0.0.5:6379')).to.equal('redis://:****@10.0.0.5:6379');
    expect(showValue('redis.url', 'redis-cluster://:pw@a:7000')).to.equal(
      '"redis-cluster://:********@a:7000"',
    );
    // A URL that cannot be read may hold its password anywhere.
    expect(showValue('redis.url', 'redis-sentinel//:pw@a/m')).to.equal('"********"');
  });

  it('finds the Cluster hash tag of a prefix as Redis does', () => {
    expect(hashTagOf('{osb}')).to.equal('osb');
    expect(hashTagOf('bridge{osb}')).to.equal('osb');
    expect(hashTagOf('osb')).to.equal(undefined);
    expect(hashTagOf('{}osb')).to.equal(undefined);
    expect(hashTagOf('{osb')).to.equal(undefined);
  });
});

describe('Redis configuration checks', () => {
  it('accepts each topology through REDIS_URL', () => {
    for (const url of ['rediss://r:6380', 'redis-sentinel://s1:26379/m']) {
      expect(problemsOf({ REDIS_URL: url }), url).to.deep.equal([]);
    }
    expect(problemsOf({ REDIS_URL: 'redis-cluster://a:7000', BRIDGE_REDIS_PREFIX: '{osb}' })).to.deep.equal(
      [],
    );
  });

  it('names redis.url and hides its password when the URL is wrong', () => {
    const [problem, ...more] = problemsOf({ REDIS_URL: 'redis-sentinel://:hunter22@s1:26379' });
    expect(more).to.deep.equal([]);
    expect(problem!.key).to.equal('redis.url');
    expect(problem!.message).to.match(/master name/);
    expect(problem!.origin).to.deep.equal({ source: 'env', name: 'REDIS_URL' });
    expect(JSON.stringify(problem)).to.not.include('hunter22');
  });

  it('wants a hash-tagged prefix with a Cluster, naming redis.prefix', () => {
    const [problem, ...more] = problemsOf({ REDIS_URL: 'redis-cluster://a:7000' });
    expect(more).to.deep.equal([]);
    expect(problem!.key).to.equal('redis.prefix');
    expect(problem!.message).to.match(/hash tag such as \{osb\}/);
    expect(problem!.origin).to.deep.equal({ source: 'default', env: 'BRIDGE_REDIS_PREFIX' });
  });

  it('checks redis.tlsCaFile: only with TLS, and readable', () => {
    const [plain] = problemsOf({ REDIS_URL: 'redis://r:6379', REDIS_TLS_CA_FILE: '/etc/hostname' });
    expect(plain!.key).to.equal('redis.tlsCaFile');
    expect(plain!.message).to.match(/does not use TLS/);
    const [missing] = problemsOf({ REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' });
    expect(missing!.key).to.equal('redis.tlsCaFile');
    expect(missing!.message).to.match(/cannot read the CA file \(ENOENT\)/);
  });
});
