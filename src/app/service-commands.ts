import type { Command } from 'commander';
import { loadConfigOrExit, needCloudKitty, startLogger, type GlobalOptions } from './startup.js';

function configPath(cmd: Command): GlobalOptions {
  return { config: cmd.optsWithGlobals<GlobalOptions>().config };
}

const STOPPING =
  'SIGTERM or SIGINT stops it gracefully: no new requests or jobs, the running ones finish within ' +
  'server.shutdownTimeout (BRIDGE_SHUTDOWN_TIMEOUT, default 30s), then exit 0; past it, exit 1 naming what ' +
  'was still running. A second signal exits at once.';

async function runApi(cmd: Command): Promise<void> {
  const loaded = loadConfigOrExit(configPath(cmd));
  const logger = startLogger(loaded, 'bridge-api');
  const [{ ApiService }, { runServiceProcess }] = await Promise.all([
    import('./api-service.js'),
    import('./service-process.js'),
  ]);
  const api = new ApiService({ config: loaded.config, logger });
  await runServiceProcess({ config: loaded.config, logger, parts: [api], start: () => api.start() });
}

async function runWorker(cmd: Command): Promise<void> {
  const loaded = loadConfigOrExit(configPath(cmd));
  needCloudKitty(loaded);
  const { config } = loaded;
  const logger = startLogger(loaded, 'bridge-worker');
  const [
    { createBridgeRuntime },
    { WorkerService },
    { WorkerHealthServer, workerReadiness },
    { runServiceProcess },
  ] = await Promise.all([
    import('./bridge-runtime.js'),
    import('./worker-service.js'),
    import('./worker-health.js'),
    import('./service-process.js'),
  ]);
  const runtime = createBridgeRuntime(config, logger);
  const workers = new WorkerService(runtime);
  const health = config.worker.healthPort
    ? new WorkerHealthServer(workerReadiness(runtime), logger)
    : undefined;
  await runServiceProcess({
    config,
    logger,
    parts: health ? [health, workers] : [workers],
    start: async () => {
      await health?.start(config.worker.healthPort);
      await workers.start();
    },
    close: () => runtime.close(),
  });
}

async function runStart(cmd: Command): Promise<void> {
  const loaded = loadConfigOrExit(configPath(cmd));
  needCloudKitty(loaded);
  const logger = startLogger(loaded);
  const [
    { ApiService },
    { createBridgeRuntime },
    { WorkerService },
    { DependencyWatch },
    { BridgeMetrics },
    { runServiceProcess },
  ] = await Promise.all([
    import('./api-service.js'),
    import('./bridge-runtime.js'),
    import('./worker-service.js'),
    import('./dependency-watch.js'),
    import('../metrics/bridge-metrics.js'),
    import('./service-process.js'),
  ]);
  // One watch for both halves: Redis or Kill Bill going down is said once, not by each.
  const watch = new DependencyWatch({ logger });
  const metrics = BridgeMetrics.forConfig(loaded.config, { processMetrics: true });
  const runtime = createBridgeRuntime(loaded.config, logger, { watch, metrics });
  const api = new ApiService({ config: loaded.config, logger, watch, metrics });
  const workers = new WorkerService(runtime);
  await runServiceProcess({
    config: loaded.config,
    logger,
    parts: [api, workers],
    start: async () => {
      await api.start();
      await workers.start();
    },
    close: () => runtime.close(),
  });
}

/** `api`, `worker` and `start` run until SIGTERM/SIGINT, then stop cleanly. */
export function registerServiceCommands(program: Command): void {
  program
    .command('api')
    .description(
      'run the intake HTTP service alone (Kill Bill callback, /healthz, /readyz, /metrics, /admin/queues)',
    )
    .addHelpText('after', `\n${STOPPING}`)
    .action((_opts, cmd: Command) => runApi(cmd));

  program
    .command('worker')
    .description(
      'run the registry and usage-sync workers alone (run as many as wanted against one Redis); ' +
        '/healthz and /readyz on worker.healthPort (BRIDGE_WORKER_HEALTH_PORT, default 8082, 0 = none)',
    )
    .addHelpText('after', `\n${STOPPING}`)
    .action((_opts, cmd: Command) => runWorker(cmd));

  program
    .command('start')
    .description(
      'run the intake service and the workers in one process (the default for a small install); ' +
        'health, readiness and the queue dashboard on the API port',
    )
    .addHelpText('after', `\n${STOPPING}`)
    .action((_opts, cmd: Command) => runStart(cmd));
}
