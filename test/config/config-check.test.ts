import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { loadConfig, schemaLeaves } from '../../src/config/index.js';
import { capturedLog } from '../support/captured-log.js';

const SECRETS = [
  'kb-secret-pw',
  'lazar-secret',
  'os-secret-pw',
  'test-callback-token-0123456789',
  'redispw',
  'dashboard-secret-pw',
];

function bridge(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(OS_|KILLBILL_|BRIDGE_|CLOUDKITTY_|REDIS_URL|PORT|LOG_LEVEL)/.test(k),
    ),
  );
  return spawnSync(process.execPath, ['bin/bridge.js', ...args], {
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
}

describe('bridge config check', function () {
  this.timeout(60_000);

  it('prints the effective config with every secret masked', () => {
    const run = bridge(['config', 'check', '--config', 'test/fixtures/config/concertim-config.yaml'], {
      BRIDGE_CALLBACK_TOKEN: 'test-callback-token-0123456789',
      REDIS_URL: 'redis://:redispw@127.0.0.1:6379',
      BRIDGE_DASHBOARD_USERNAME: 'ops',
      BRIDGE_DASHBOARD_PASSWORD: 'dashboard-secret-pw',
    });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.include('dashboard.username = "ops"');
    expect(run.stdout).to.include('dashboard.password = "********"');
    expect(run.stdout).to.match(/^configuration OK/);
    expect(run.stdout).to.include('killbill.apiKey = "bob"');
    expect(run.stdout).to.include('killbill.password = "********"');
    expect(run.stdout).to.include('redis.url = "redis://:********@127.0.0.1:6379"');
    for (const s of SECRETS) expect(run.stdout + run.stderr).not.to.include(s);
    expect(run.stderr).to.match(/note: ignoring blocks/);
  });

  for (const [fixture, expected] of [
    ['broken-url', /killbill\.url: expected an http/],
    ['missing-killbill-key', /killbill\.apiKey: is required/],
    // Each parse error at the line of the mistake, not where the parser gave up (the file's end).
    ['broken-syntax', /YAML syntax error: .*broken-syntax\.yaml line 3 column 11\)/],
    [
      'unclosed-quote',
      /YAML syntax error: Missing closing "quote \(from .*unclosed-quote\.yaml line 4 column 14\)/,
    ],
    [
      'unclosed-bracket',
      /YAML syntax error: Flow sequence.* \(from .*unclosed-bracket\.yaml line 4 column 17\)/,
    ],
    ['bad-indent', /YAML syntax error: .* \(from .*bad-indent\.yaml line 4 column 1\)/],
  ] as const) {
    it(`exits 2 and names the problem for ${fixture}.yaml`, () => {
      const run = bridge(['config', 'check', '--config', `test/fixtures/config/${fixture}.yaml`]);
      expect(run.status).to.equal(2);
      expect(run.stderr).to.match(expected);
      expect(run.stdout).to.equal('');
    });
  }

  it('refuses a dashboard user without a password, naming the missing key', () => {
    const run = bridge(['config', 'check'], {
      KILLBILL_API_KEY: 'bob',
      KILLBILL_API_SECRET: 'lazar',
      BRIDGE_DASHBOARD_USERNAME: 'ops',
    });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include(
      '  - dashboard.password: the queue dashboard needs both a user and a password (or neither, to turn it off), ' +
        'and only one is set (from the built-in default; set environment variable BRIDGE_DASHBOARD_PASSWORD',
    );
  });

  it("starts with the defaults: the bridge port is not Kill Bill's", () => {
    const run = bridge(['config', 'check'], { KILLBILL_API_KEY: 'bob', KILLBILL_API_SECRET: 'lazar' });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.include('server.port = 8081');
    expect(run.stdout).to.include('killbill.url = "http://127.0.0.1:8080"');
  });

  it('refuses a bridge listening on the address of killbill.url, naming both keys and their origins', () => {
    const file = 'test/fixtures/config/killbill-on-bridge-port.yaml';
    const run = bridge(['config', 'check', '--config', file]);
    expect(run.status).to.equal(2);
    expect(run.stdout).to.equal('');
    const line = run.stderr.split('\n').find((l) => l.includes('- server.port:'));
    expect(line, run.stderr).to.be.a('string');
    expect(line).to.include(`killbill.url = "http://localhost:8081" (from ${file} line 3 column 8)`);
    expect(line).to.include('got 8081, from the built-in default; set environment variable PORT');
    expect(line).to.include('would call itself');
  });

  it('refuses a public URL that is the address of killbill.url, whichever loopback name each uses', () => {
    const run = bridge(['config', 'check'], {
      KILLBILL_API_KEY: 'bob',
      KILLBILL_API_SECRET: 'lazar',
      KILLBILL_URL: 'http://127.0.0.1:9090',
      PORT: '9091',
      BRIDGE_PUBLIC_URL: 'http://localhost:9090/',
    });
    expect(run.status).to.equal(2);
    const line = run.stderr.split('\n').find((l) => l.includes('- server.publicUrl:'));
    expect(line, run.stderr).to.include(
      'killbill.url = "http://127.0.0.1:9090" (from environment variable KILLBILL_URL)',
    );
    expect(line).to.include('got "http://localhost:9090/", from environment variable BRIDGE_PUBLIC_URL');
    expect(run.stderr).not.to.include('- server.port:');
  });

  it('suggests the key meant for a misspelt one, whatever its case or separators, with its line', () => {
    const run = bridge(['config', 'check', '--config', 'test/fixtures/config/misspelt-keys.yaml']);
    expect(run.status).to.equal(2);
    const problem = (key: string) => run.stderr.split('\n').find((l) => l.startsWith(`  - ${key}: `)) ?? '';
    expect(problem('kilbill.url')).to.match(
      /unknown key; did you mean `killbill\.url`\?.* line 3 column 3\)$/,
    );
    expect(problem('killbill.apikee')).to.include('did you mean `killbill.apiKey`?');
    expect(problem('killbill.API_SECRET')).to.include('did you mean `killbill.apiSecret`?');
    expect(problem('server.prot')).to.include('did you mean `server.port`?');
    // Under the wrong block: found by its last part.
    expect(problem('server.apiKey')).to.include('did you mean `killbill.apiKey`?');
    expect(problem('server.colour')).to.equal(
      '  - server.colour: unknown key (`bridge config check --help` lists every key) ' +
        '(from test/fixtures/config/misspelt-keys.yaml line 10 column 3)',
    );
  });

  it('--help lists every key with its environment variable, one a line', () => {
    const run = bridge(['config', 'check', '--help']);
    expect(run.status, run.stderr).to.equal(0);
    const listed = run.stdout.split('\n').map((l) => l.trim().split(/\s+/));
    for (const leaf of schemaLeaves()) {
      expect(listed, leaf.key).to.deep.include([leaf.key, leaf.env]);
    }
  });

  it('exits 2 for a file that does not exist', () => {
    const run = bridge(['config', 'check', '--config', 'test/fixtures/config/nope.yaml']);
    expect(run.status).to.equal(2);
    expect(run.stderr).to.include('the file does not exist');
  });
});

describe('log lines never carry secrets', () => {
  it('redacts passwords, API secrets, tokens and Authorization headers wherever they sit', () => {
    const { lines, logger } = capturedLog('debug');
    const { config } = loadConfig({
      configPath: 'test/fixtures/config/concertim-config.yaml',
      env: { BRIDGE_CALLBACK_TOKEN: 'test-callback-token-0123456789' },
    });
    logger.info({ config }, 'effective configuration');
    logger.warn(
      {
        request: {
          headers: { Authorization: 'Basic a2Itc2VjcmV0LXB3', 'X-Killbill-ApiSecret': 'lazar-secret' },
        },
      },
      'kill bill call failed',
    );
    logger.debug(
      { keystone: { auth: { password: 'os-secret-pw' } }, token: 'test-callback-token-0123456789' },
      'x',
    );
    expect(lines).to.have.length(3);
    for (const line of lines) {
      JSON.parse(line);
      for (const s of [...SECRETS, 'a2Itc2VjcmV0LXB3']) expect(line).not.to.include(s);
    }
    expect(lines[0]).to.include('"apiKey":"bob"');
    expect(lines[1]).to.include('[redacted]');
  });
});
