import type { Command } from 'commander';

/** The service commands (api, worker, start, setup, sync, registry, callback) register here as they land. */
export function registerCommands(_program: Command): void {}
