import type { Command } from 'commander';
import { registerRegistryCommand } from './registry-command.js';

/** The service commands (api, worker, start, setup, sync, registry, callback) register here as they land. */
export function registerCommands(program: Command): void {
  registerRegistryCommand(program);
}
