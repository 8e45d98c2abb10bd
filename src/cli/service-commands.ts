import type { Command } from 'commander';
import { requireCloudKitty, ConfigError } from '../config/index.js';
import { BridgeMetrics } from '../metrics/bridge-metrics.js';
import { ApiService } from '../service/api-service.js';
import { createBridgeRuntime } from '../service/bridge-runtime.js';
import { DependencyWatch } from '../service/dependency-watch.js';
import { WorkerService } from '../service/worker-service.js';
import { EXIT_CONFIG, loadConfigOrExit, startLogger, untilSignal, type GlobalOptions } from './startup.js';

function configPath(cmd: Command): GlobalOptions {
  return { config: cmd.optsWithGlobals<GlobalOptions>().config };
}

function needCloudKitty(loaded: ReturnType<typeof loadConfigOrExit>): void {
  try {
    requireCloudKitty(loaded);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`bridge: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

/** `api`, `worker` and `start` run until SIGTERM/SIGINT, then stop cleanly. */
export function registerServiceCommands(program: Command): void {
  program
    .command('api')
    .description('run the intake HTTP service alone (Kill Bill callback, /healthz, /readyz, /metrics)')
    .action(async (_opts, cmd: Command) => {
      const loaded = loadConfigOrExit(configPath(cmd));
      const logger = startLogger(loaded, 'bridge-api');
      const api = new ApiService({ config: loaded.config, logger });
      await api.start();
      logger.info({ event: 'process.signal', signal: await untilSignal() }, 'stopping');
      await api.stop();
    });

  program
    .command('worker')
    .description('run the registry and usage-sync workers alone (run as many as wanted against one Redis)')
    .action(async (_opts, cmd: Command) => {
      const loaded = loadConfigOrExit(configPath(cmd));
      needCloudKitty(loaded);
      const logger = startLogger(loaded, 'bridge-worker');
      const runtime = createBridgeRuntime(loaded.config, logger);
      const workers = new WorkerService(runtime);
      await workers.start();
      logger.info({ event: 'process.signal', signal: await untilSignal() }, 'stopping');
      await workers.stop();
      await runtime.close();
    });

  program
    .command('start')
    .description('run the intake service and the workers in one process (the default for a small install)')
    .action(async (_opts, cmd: Command) => {
      const loaded = loadConfigOrExit(configPath(cmd));
      needCloudKitty(loaded);
      const logger = startLogger(loaded);
      // One watch for both halves: Redis or Kill Bill going down is said once, not by each.
      const watch = new DependencyWatch({ logger });
      const metrics = BridgeMetrics.forConfig(loaded.config);
      const runtime = createBridgeRuntime(loaded.config, logger, { watch, metrics });
      const api = new ApiService({ config: loaded.config, logger, watch, metrics });
      const workers = new WorkerService(runtime);
      await api.start();
      await workers.start();
      logger.info({ event: 'process.signal', signal: await untilSignal() }, 'stopping');
      await api.stop();
      await workers.stop();
      await runtime.close();
    });
}
