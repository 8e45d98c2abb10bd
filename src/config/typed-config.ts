import { parseWindowSize } from '../metering/index.js';
import { validatedDuration } from './formats.js';
import { parseRedisUrl } from './redis-url.js';
import type { BridgeConfig, WrittenConfig } from './schema.js';

/**
 * Reads each validated duration and the Redis URL once, so no use site parses one again: the bridge runs on milliseconds
 * and a window size, while `bridge config check` keeps printing the text that was written.
 */
export function typedConfig(written: WrittenConfig): BridgeConfig {
  const { timeout: killbillTimeout, ...killbill } = written.killbill;
  const { timeout: cloudkittyTimeout, ...cloudkitty } = written.cloudkitty;
  const { shutdownTimeout, ...server } = written.server;
  const { windowSize, settleDelay, syncEvery, recheckEvery, lockTtl, ...metering } = written.metering;
  const { reconcileEvery, ...registry } = written.registry;
  return {
    ...written,
    redis: { ...written.redis, topology: parseRedisUrl(written.redis.url) },
    killbill: { ...killbill, timeoutMs: validatedDuration(killbillTimeout) },
    cloudkitty: { ...cloudkitty, timeoutMs: validatedDuration(cloudkittyTimeout) },
    server: { ...server, shutdownTimeoutMs: validatedDuration(shutdownTimeout) },
    metering: {
      ...metering,
      // From milliseconds: the schema accepts any duration unit (`120s`), the window parser only m, h and d.
      windowSize: parseWindowSize(validatedDuration(windowSize)),
      settleDelayMs: validatedDuration(settleDelay),
      syncEveryMs: validatedDuration(syncEvery),
      recheckEveryMs: validatedDuration(recheckEvery),
      lockTtlMs: validatedDuration(lockTtl),
    },
    registry: { ...registry, reconcileEveryMs: validatedDuration(reconcileEvery) },
  };
}
