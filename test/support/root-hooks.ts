import type { Context } from 'mocha';

/**
 * Mocha root hooks: servers shared by the whole run (CloudKitty takes seconds to start) register
 * their stop here, so they stop once after the last suite, whichever suites ran.
 */
const cleanups: Array<() => Promise<void> | void> = [];

export function registerCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Stops every shared server, last started first. */
export async function stopSharedServers(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

export const mochaHooks = {
  async afterAll(this: Context): Promise<void> {
    // Stopping CloudKitty, Keystone, Heat and Kill Bill took over mocha's 30 s on a loaded machine.
    this.timeout(300_000);
    await stopSharedServers();
  },
};
