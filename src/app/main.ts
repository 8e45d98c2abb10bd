import { Command } from 'commander';
import {
  ConfigError,
  effectiveConfigJson,
  loadConfig,
  renderEffectiveConfig,
  renderKeyList,
} from '../config/index.js';
import { EXIT_CONFIG, type GlobalOptions } from './startup.js';
import { registerCommands } from './commands.js';

const program = new Command();
program
  .name('bridge')
  .description(
    'killbill-openstack-bridge: records OpenStack CloudKitty rated usage in Kill Bill, exactly once and to the cent.',
  )
  .option(
    '-c, --config <path>',
    'YAML config file (default: $BRIDGE_CONFIG, then ./bridge.yaml, /etc/killbill-openstack-bridge/config.yaml, /etc/concertim-openstack-service/config.yaml)',
  )
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\nConfiguration comes from built-in defaults, then the YAML file, then environment variables ' +
      '(KILLBILL_*, OS_*, CLOUDKITTY_URL, REDIS_URL, ...). `bridge config check` shows the effective values.',
  );

const configCmd = program.command('config').description('inspect the configuration');
configCmd
  .command('check')
  .description(
    'validate the configuration and print the effective values (secrets masked); exit 2 on a problem',
  )
  .option('-c, --config <path>', 'YAML config file')
  .option('--json', 'print the values as JSON')
  .addHelpText('after', `\n${renderKeyList()}`)
  .action((opts: GlobalOptions & { json?: boolean }) => {
    const configPath = opts.config ?? program.opts<GlobalOptions>().config;
    try {
      const loaded = loadConfig({ configPath });
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(effectiveConfigJson(loaded), null, 2)}\n`
          : `${renderEffectiveConfig(loaded)}\n`,
      );
      for (const n of loaded.notices) process.stderr.write(`note: ${n}\n`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`bridge: ${err.message}\n`);
      process.exitCode = EXIT_CONFIG;
    }
  });

registerCommands(program);

await program.parseAsync(process.argv);
