import {
  ConfigError,
  loadConfig,
  requireCloudKitty,
  type BridgeConfig,
  type LoadedConfig,
} from '../config/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import type { DependencyUrls } from './unreachable.js';

/** Exit code for a configuration the bridge refuses to start with. */
export const EXIT_CONFIG = 2;
/** Exit code for a run that started but failed (a service unreachable, a step that did not succeed). */
export const EXIT_FAILURE = 1;

export interface GlobalOptions {
  config?: string;
}

/** Loads and validates the configuration before anything starts; on a problem, says what and exits 2. */
export function loadConfigOrExit(options: GlobalOptions): LoadedConfig {
  try {
    return loadConfig({ configPath: options.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bridge: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
}

/** For commands that pull usage: without a CloudKitty to pull from, says so and exits 2 before starting. */
export function needCloudKitty(loaded: LoadedConfig): void {
  try {
    requireCloudKitty(loaded);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`bridge: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

/** The services a command depends on, to name the one that was unreachable when it fails. */
export function dependencyUrls(config: BridgeConfig): DependencyUrls {
  return {
    redis: config.redis.url,
    killbill: config.killbill.url,
    cloudkitty: config.cloudkitty.url || undefined,
    keystone: config.openstack.authUrl || undefined,
  };
}

/** The process logger, with the notices gathered while the configuration was read. */
export function startLogger(loaded: LoadedConfig, name = 'bridge'): Logger {
  const logger = createLogger({ level: loaded.config.log.level, name });
  for (const notice of loaded.notices) logger.info({ event: 'config.notice' }, notice);
  return logger;
}

/** Resolves once SIGTERM or SIGINT arrives, so long-running commands can stop cleanly. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(sig);
    };
    process.once('SIGTERM', on);
    process.once('SIGINT', on);
  });
}
