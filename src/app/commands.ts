import type { Command } from 'commander';
import { registerCallbackCommand } from './callback-command.js';
import { registerReconcileCommand } from './reconcile-command.js';
import { registerRegistryCommand } from './registry-command.js';
import { registerSetupCommand } from './setup-command.js';
import { registerServiceCommands } from './service-commands.js';
import { registerSyncCommand } from './sync-command.js';

/** Every command of `bridge`, each defined in its own file. */
export function registerCommands(program: Command): void {
  registerRegistryCommand(program);
  registerSetupCommand(program);
  registerServiceCommands(program);
  registerCallbackCommand(program);
  registerSyncCommand(program);
  registerReconcileCommand(program);
}
