import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REAPER = join(dirname(fileURLToPath(import.meta.url)), 'reaper.sh');

/** Thrown into the demo's flow when a start finishes after stopping began: nothing more may start. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

/** What the reaper must undo if node dies before stopping a thing itself; see reaper.sh. */
export type Leftover = { pid: number } | { cloudkittyState: string } | { dir: string };

interface Stop {
  what: string;
  stop: () => Promise<void>;
}

/**
 * Everything the demo starts, and the one way it all stops: in reverse order, once, awaited, whether the
 * flow ends, fails, or a signal or an uncaught error ends it. A reaper process stops the rest if node
 * itself is killed outright.
 */
export class DemoLifecycle {
  private readonly stops: Stop[] = [];
  private stopping: Promise<void> | undefined;
  private exiting = false;
  private readonly reaper: ChildProcess;

  constructor(private readonly say: (line: string) => void) {
    // Its stdin is the only tie: the kernel closes it however node dies, and the reaper reads that as
    // "node is gone". Stdout and stderr stay unshared so nobody waits on the reaper for end of output.
    this.reaper = spawn('bash', [REAPER], { stdio: ['pipe', 'ignore', 'ignore'] });
    // Without bash the demo still stops everything itself on any signal; it only loses the SIGKILL net.
    this.reaper.on('error', () => {});
    this.reaper.stdin!.on('error', () => {});
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Ends the process on SIGINT, SIGTERM or SIGHUP and on any uncaught error, after stopping everything. */
  exitOnSignalsAndErrors(): void {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () =>
        this.exit(`${signal}: stopping everything the demo started…`, 128 + constants.signals[signal]),
      );
    }
    const crash = (err: unknown) =>
      this.exit(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1);
    process.on('uncaughtException', crash);
    process.on('unhandledRejection', crash);
    // A closed terminal or pipe makes every later write fail; there is nobody left to show the demo to.
    process.stdout.on('error', () => this.exit('', 1));
  }

  /**
   * Registers a thing the moment its start begins, so a signal during a slow start (CloudKitty takes
   * seconds) still stops it once it is up. Throws {@link Interrupted} when stopping began meanwhile.
   */
  async start<T>(
    what: string,
    starting: Promise<T>,
    stop: (started: T) => Promise<void>,
    leftovers: (started: T) => Leftover[] = () => [],
  ): Promise<T> {
    this.stops.push({
      what,
      stop: async () => {
        const started = await starting.catch(() => undefined);
        if (started !== undefined) await stop(started);
      },
    });
    const started = await starting;
    for (const l of leftovers(started)) this.tellReaper(l);
    if (this.stopping) throw new Interrupted();
    return started;
  }

  /** Stops everything started, newest first; every later call gets the same promise. */
  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      for (const { what, stop } of this.stops.splice(0).reverse()) {
        await stop().catch((err: Error) => this.say(`could not stop ${what}: ${err.message}`));
      }
      // Only now, with nothing left to undo, may the reaper go without acting.
      this.reaper.stdin!.end('done\n');
    })();
    return this.stopping;
  }

  /**
   * Stops everything, then exits with `code`. Later calls (a second Ctrl-C, npm forwarding it) wait.
   * The message of a failure (code 1) goes to stderr, where a failing run is looked for.
   */
  exit(message: string, code: number): void {
    if (this.exiting) return;
    this.exiting = true;
    if (message && code === 1) process.stderr.write(`\n${message}\n`);
    else if (message) this.say(message);
    void this.stopAll().finally(() => process.exit(code));
  }

  private tellReaper(leftover: Leftover): void {
    const line =
      'pid' in leftover
        ? `pid ${leftover.pid}`
        : 'cloudkittyState' in leftover
          ? `down ${leftover.cloudkittyState}`
          : `dir ${leftover.dir}`;
    this.reaper.stdin!.write(`${line}\n`);
  }
}
