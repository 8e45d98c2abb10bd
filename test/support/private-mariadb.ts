import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { whenThisProcessIsGone, type Reaper } from './reaper.js';
import { registerCleanup } from './root-hooks.js';
import { freePort, waitFor } from './wait.js';

const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';
/** mariadbd refuses to run as root unless told to; as anyone else it runs as that user. */
const USER = userInfo().username;

/** Every instance not closed yet: killed, and its datadir removed, when the test process exits. */
const live = new Set<PrivateMariaDb>();
process.once('exit', () => {
  for (const db of live) db.killNow();
});

/**
 * A throwaway MariaDB server of the test's own: a datadir made by `mariadb-install-db` in a temp folder,
 * `mariadbd` on a free loopback port, root without a password (what scripts/killbill.sh expects). The
 * machine's MariaDB on 3306 is shared by every other test and process, so a suite that takes the database
 * away under Kill Bill does it here: {@link kill} and {@link resume} on the same port and datadir.
 *
 * Whatever happens it goes: `close()` (registered with the root hooks as well), the process's `exit`, and a
 * reaper that SIGKILLs mariadbd and removes the folder once the test process is gone (SIGKILL included).
 */
export class PrivateMariaDb {
  private child: ChildProcess | undefined;
  private reaper: Reaper | undefined;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly port: number,
    /** Holds `data/`, the socket, the PID file and `error.log`. */
    readonly dir: string,
  ) {}

  get datadir(): string {
    return join(this.dir, 'data');
  }

  static async start(): Promise<PrivateMariaDb> {
    for (const bin of [MARIADBD, INSTALL_DB]) {
      if (!existsSync(bin))
        throw new Error(`${bin} is missing; install it with: apt-get install -y mariadb-server`);
    }
    const db = new PrivateMariaDb(await freePort(), mkdtempSync(join(tmpdir(), 'bridge-mariadb-')));
    live.add(db);
    registerCleanup(() => db.close());
    // Should this process die without its hooks: mariadbd of the PID file goes (if that PID is still
    // mariadbd on this datadir), and so does the folder.
    db.reaper = whenThisProcessIsGone(
      [
        'pid=$(cat "$1/mysqld.pid" 2>/dev/null) &&',
        '  tr "\\0" " " <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--datadir=$1/" && kill -9 "$pid"',
        'sleep 1; rm -rf "$1"',
      ].join('\n'),
      db.dir,
    );
    try {
      await run(INSTALL_DB, [
        '--no-defaults',
        `--datadir=${db.datadir}`,
        `--user=${USER}`,
        // root@localhost and root@127.0.0.1 without a password, as on the machine's server.
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ]);
      await db.resume();
    } catch (err) {
      await db.close();
      throw err;
    }
    return db;
  }

  /** Starts mariadbd (again) on the same port and datadir; resolves once it answers a query. */
  async resume(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      MARIADBD,
      [
        '--no-defaults',
        `--datadir=${this.datadir}`,
        `--socket=${join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--user=${USER}`,
        // No DNS lookups on connect: 127.0.0.1 is matched as it is.
        '--skip-name-resolve',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const state = await waitFor(
      `the private mariadbd on port ${this.port} answers a query`,
      async () =>
        child.exitCode !== null || child.signalCode ? 'exited' : (await this.answers()) && 'ready',
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    if (state === 'exited') throw new Error(`mariadbd exited at start; its log ends:\n${this.logTail()}`);
  }

  /** Ends mariadbd by its PID (SIGKILL: a crash, transactions cut; SIGTERM: a clean shutdown) and waits for it. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /** Kills mariadbd and removes its folder; once, however many times it is called. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.kill('SIGKILL');
      this.reaper?.cancel();
      rmSync(this.dir, { recursive: true, force: true });
      live.delete(this);
    })();
    return this.closed;
  }

  /** The `exit` path: nothing asynchronous runs any more. The reaper sweeps whatever is left. */
  killNow(): void {
    this.child?.kill('SIGKILL');
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // The reaper removes it once this process is gone.
    }
  }

  /** The last lines mariadbd logged, for an error message. */
  logTail(lines = 20): string {
    const file = join(this.dir, 'error.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)';
  }

  /** Rows of a query (the mysql client, as root over TCP), each a list of column texts. */
  async query(sql: string): Promise<string[][]> {
    const out = await run('mysql', [
      '--no-defaults',
      '--protocol=TCP',
      '-h127.0.0.1',
      `-P${this.port}`,
      '-uroot',
      '--connect-timeout=2',
      '--batch',
      '--skip-column-names',
      '-e',
      sql,
    ]);
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t'));
  }

  private answers(): Promise<boolean> {
    return this.query('SELECT 1').then(
      () => true,
      () => false,
    );
  }
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${error.message.split('\n')[0]}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
