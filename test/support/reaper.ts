import { spawn } from 'node:child_process';

/** A watcher started by {@link whenThisProcessIsGone}. */
export interface Reaper {
  /** The cleanup happened the normal way: the watcher is stopped (by its PID) and will do nothing. */
  cancel(): void;
}

/**
 * Runs the bash `script` (its arguments as `$1`, `$2`, …) once this test process is gone, however it ended:
 * a SIGKILLed mocha runs no hook and no `exit` handler, so what it started would be left running. The
 * watcher is detached (a session of its own), so neither that nor a Ctrl-C to mocha's group takes it along.
 */
export function whenThisProcessIsGone(script: string, ...args: string[]): Reaper {
  const wait = 'parent=$1; shift; while kill -0 "$parent" 2>/dev/null; do sleep 1; done';
  const child = spawn('bash', ['-c', `${wait}\n${script}`, 'reaper', String(process.pid), ...args], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return { cancel: () => void child.kill('SIGKILL') };
}
