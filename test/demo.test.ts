import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { PROJECTS } from '../scripts/demo/usage-day.js';
import { waitFor } from './support/wait.js';

/**
 * `npm run demo` as a user runs it: output read as printed, signals sent to one process of it, and then
 * a look at the machine for anything it started that is still there.
 */

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/** Live processes of a process group; a zombie has stopped, only nobody has reaped it yet. */
function processesInGroup(pgid: number): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(group) === pgid && state !== 'Z')
      found.push(`${pid} ${stat.slice(0, stat.lastIndexOf(')') + 1)}`);
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** What the demo says it started: processes, listening URLs, temp folders. */
interface Started {
  pids: number[];
  urls: string[];
  dirs: string[];
}

/** The current test's demos: after it, whatever a failure left of them is stopped and removed. */
const demos: Demo[] = [];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class Demo {
  readonly child: ChildProcess;
  private exit: Exit | undefined;
  out = '';
  err = '';

  /** Started in its own process group, so everything it starts can be found by that group. */
  constructor(command: string, args: string[]) {
    this.child = spawn(command, args, {
      env: { ...process.env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout!.on('data', (d) => (this.out += d));
    this.child.stderr!.on('data', (d) => (this.err += d));
    // Its output is complete only at the end of stdout, which may come after the exit; only node and npm
    // hold stdout (redis-server shares stderr, and may outlive a killed node).
    let exit: Exit | undefined;
    let outEnded = false;
    const settle = () => (this.exit = outEnded ? exit : undefined);
    this.child.on('exit', (code, signal) => ((exit = { code, signal }), settle()));
    this.child.stdout!.on('end', () => ((outEnded = true), settle()));
    demos.push(this);
  }

  /** How it exited; fails naming the wait when it has not within `timeoutMs`. */
  ended(timeoutMs = 60_000): Promise<Exit> {
    return waitFor(`the demo (pid ${this.child.pid}) exits`, () => this.exit, {
      timeoutMs,
      intervalMs: 50,
    });
  }

  static node(...args: string[]): Demo {
    return new Demo(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', ...args]);
  }

  get output(): string {
    return `${this.out}\n${this.err}`;
  }

  /** Waits for the line saying the stack is up and left running; fails at once if the demo ended. */
  async leftRunning(): Promise<void> {
    await waitFor(
      'the demo says it is left running',
      () => {
        if (this.exit) throw new Error(`the demo ended:\n${this.output}`);
        return /stops everything\.\n/.test(this.out);
      },
      { timeoutMs: 180_000, intervalMs: 100 },
    );
  }

  /** Everything the demo says it started, once it is fully up. */
  started(): Started {
    const started = this.said();
    expect(started.pids, this.output).to.have.length(3);
    expect(started.urls, this.output).to.have.length(5);
    return started;
  }

  private said(): Started {
    const redis = /redis-server on (\S+), pid (\d+) \(data in ([^)]+)\)/.exec(this.out);
    const ck =
      /CloudKitty at (\S+) \(InfluxDB at (\S+)\), pids cloudkitty-api (\d+), influxd (\d+) \(state in ([^)]+)\)/.exec(
        this.out,
      );
    const kb = /Kill Bill stand-in at (\S+) /.exec(this.out);
    const api = /callback registered: (http:\/\/[^/]+)\//.exec(this.out);
    return {
      pids: [redis?.[2], ck?.[3], ck?.[4]].filter((p) => p !== undefined).map(Number),
      urls: [redis?.[1], ck?.[1], ck?.[2], kb?.[1], api?.[1]].filter((u) => u !== undefined),
      dirs: [redis?.[3], ck?.[5]].filter((d) => d !== undefined),
    };
  }

  /** After a failed test: ends its whole group, gently first, and removes the folders it named. */
  async clearAway(): Promise<void> {
    const pgid = this.child.pid!;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pgid, sig);
      } catch {
        // The group has gone already.
      }
    };
    if (processesInGroup(pgid).length > 0) {
      signal('SIGTERM');
      await waitFor('the group stops', () => processesInGroup(pgid).length === 0, {
        timeoutMs: 30_000,
      }).catch(() => signal('SIGKILL'));
    }
    for (const dir of this.said().dirs) rmSync(dir, { recursive: true, force: true });
  }

  /** Nothing the demo started remains: no process of its group, none of its PIDs, ports or folders. */
  async assertNothingLeft(started: Started): Promise<void> {
    const pgid = this.child.pid!;
    await waitFor('every process of the demo has ended', () => processesInGroup(pgid).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; left: ${processesInGroup(pgid).join('; ')}\n${this.output}`);
    });
    for (const pid of started.pids) expect(alive(pid), `pid ${pid}`).to.equal(false);
    for (const url of started.urls) expect(await portOpen(url), url).to.equal(false);
    for (const dir of started.dirs) expect(existsSync(dir), dir).to.equal(false);
  }
}

/** The `export NAME='value'` lines of the left-running block, as a shell would read them. */
function exportedEnv(out: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of out.matchAll(/^\s*export ([A-Z][A-Z0-9_]*)='((?:[^']|'\\'')*)'$/gm)) {
    env[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  }
  return env;
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run demo', function () {
  this.timeout(240_000);

  afterEach(async () => {
    for (const demo of demos.splice(0)) await demo.clearAway();
  });

  it('--help prints the usage and exits 0 without starting anything', async () => {
    const demo = new Demo('bash', ['scripts/demo.sh', '--help']);
    expect((await demo.ended()).code, demo.output).to.equal(0);
    expect(demo.out).to.match(/^usage: npm run demo/);
    expect(demo.out).to.include('--keep-running');
    expect(demo.out).not.to.include('Starting Redis');
    expect(processesInGroup(demo.child.pid!)).to.deep.equal([]);
  });

  it('runs the whole flow, prints recorded == CloudKitty and the invoice in cents, leaves nothing behind', async () => {
    const demo = Demo.node();
    expect((await demo.ended(180_000)).code, demo.output).to.equal(0);
    const out = demo.out;

    const table = out.split('\n').filter((l) => /^\s+(acme-hpc|globex-ml)\s+openstack-billed-/.test(l));
    expect(table, out).to.have.length(3);
    for (const row of table) {
      const [recorded, expected] = [...row.matchAll(/\b(\d+\.\d{2})\b/g)].map((m) => m[1]);
      expect(recorded, row).to.equal(expected);
      expect(row.trim().endsWith('0.00'), row).to.equal(true);
    }

    const preview = out.slice(out.indexOf('invoice preview'), out.indexOf('Stopping everything'));
    expect(preview).to.match(/^ {3}acme-hpc: 2\.70 USD$/m);
    expect(preview).to.match(/^ {3}globex-ml: 1\.93 USD$/m);
    expect(preview).to.match(/USAGE openstack-usage-billing-instance 2\.04 /);
    expect(preview).to.match(/USAGE openstack-usage-billing-vcpus 0\.66 /);
    // globex-ml meters instances only: no vCPU line, zero or not.
    const globex = preview.slice(preview.indexOf('globex-ml:'));
    expect(globex).not.to.include('vcpus');
    for (const [, amount] of preview.matchAll(/ (\d+(?:\.\d+)?) (?:USD|\()/g)) {
      expect(amount, preview).to.match(/^\d+\.\d{2}$/);
    }

    expect(out).to.include('done: no process or temp folder left behind');
    await demo.assertNothingLeft(demo.started());
  });

  it('--keep-running prints the URLs and an export block the CLI runs on; SIGTERM to node stops it all', async () => {
    const demo = Demo.node('--keep-running');
    await demo.leftRunning();
    const started = demo.started();
    const api = started.urls[4]!;
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(demo.out).to.include(`${api}${path}`);
      expect((await fetch(`${api}${path}`)).status, path).to.equal(200);
    }
    expect(demo.out).to.include(`${api}/killbill/notifications?token=`);
    expect(demo.out).to.match(/Kill Bill: +http:\/\/\S+ \(the stand-in\), user admin password password/);

    const env = exportedEnv(demo.out);
    expect(env).to.include.keys(
      ...[
        'KILLBILL_URL',
        'KILLBILL_USERNAME',
        'KILLBILL_PASSWORD',
        'KILLBILL_API_KEY',
        'KILLBILL_API_SECRET',
      ],
      ...['REDIS_URL', 'BRIDGE_REDIS_PREFIX', 'CLOUDKITTY_URL', 'PORT', 'BRIDGE_PUBLIC_URL'],
    );
    // Only what the block says (no PATH needed for node), so the test proves the block is enough.
    const bridge = (...args: string[]) => run(process.execPath, ['bin/bridge.js', ...args], env);
    const shown = await bridge('registry', 'show', '--json');
    expect(shown.code, shown.stderr).to.equal(0);
    const report = JSON.parse(shown.stdout) as { metered: Array<{ projectId: string }> };
    expect(report.metered.map((e) => e.projectId).sort()).to.deep.equal(
      PROJECTS.map((p) => p.projectId).sort(),
    );
    const callback = await bridge('callback', 'status');
    expect(callback.stdout, callback.stderr).to.include(
      `demo: ${env.BRIDGE_PUBLIC_URL}/killbill/notifications`,
    );

    process.kill(demo.child.pid!, 'SIGTERM');
    expect(await demo.ended(), demo.output).to.deep.equal({ code: 143, signal: null });
    await demo.assertNothingLeft(started);
  });

  it('stops what had started and what was starting on SIGTERM during the start', async () => {
    const demo = Demo.node();
    await waitFor('Redis is up and CloudKitty starting', () => /redis-server on .*\n/.test(demo.out), {
      timeoutMs: 60_000,
    });
    process.kill(demo.child.pid!, 'SIGTERM');
    expect(await demo.ended(), demo.output).to.deep.equal({ code: 143, signal: null });
    const redis = /redis-server on (\S+), pid (\d+) \(data in ([^)]+)\)/.exec(demo.out)!;
    // CloudKitty's processes are in the demo's group; its folder is named only once it is up.
    await demo.assertNothingLeft({ pids: [Number(redis[2])], urls: [redis[1]!], dirs: [redis[3]!] });
  });

  it('stops everything on SIGINT to the npm process', async () => {
    const demo = new Demo('npm', ['run', 'demo', '--', '--keep-running']);
    await demo.leftRunning();
    const started = demo.started();
    process.kill(demo.child.pid!, 'SIGINT');
    await demo.ended();
    expect(demo.out).to.include('SIGINT: stopping everything the demo started');
    await demo.assertNothingLeft(started);
  });

  it('stops everything even when its node process is killed outright (SIGKILL)', async () => {
    const demo = Demo.node('--keep-running');
    await demo.leftRunning();
    const started = demo.started();
    process.kill(demo.child.pid!, 'SIGKILL');
    expect((await demo.ended()).signal).to.equal('SIGKILL');
    await demo.assertNothingLeft(started);
  });
});
