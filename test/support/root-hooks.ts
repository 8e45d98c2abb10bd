/**
 * Mocha root hooks: servers shared by the whole run (CloudKitty takes seconds to start) register
 * their stop here, so they stop once after the last suite, whichever suites ran.
 */
const cleanups: Array<() => Promise<void> | void> = [];

export function registerCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

export const mochaHooks = {
  async afterAll(): Promise<void> {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  },
};
