import type { Redis } from 'ioredis';
import { parseDuration, type BridgeConfig } from '../config/index.js';
import type { KillBillClient } from '../killbill/killbill-client.js';
import { createTenantClients } from '../killbill/tenant-clients.js';
import type { Logger } from '../logging/logger.js';
import { parseWindowSize } from '../metering/index.js';
import { CloudKittyClient, KeystoneSession, type EndpointInterface } from '../openstack/index.js';
import { createRedisConnection } from '../queues/redis-connection.js';
import { AccountRegistrar } from '../registry/account-registrar.js';
import { RegistryStore } from '../registry/registry-store.js';
import { UsageLedger } from '../sync/usage-ledger.js';
import { UsageSync } from '../sync/usage-sync.js';

/** Everything the workers and the sync commands share, built once from the configuration. */
export interface BridgeRuntime {
  config: BridgeConfig;
  logger: Logger;
  redis: Redis;
  clients: Map<string, KillBillClient>;
  registry: RegistryStore;
  registrar: AccountRegistrar;
  ledger: UsageLedger;
  usageSync: UsageSync;
  close(): Promise<void>;
}

/** CloudKitty at CLOUDKITTY_URL (no auth), or found in the Keystone catalog with the OS_* credentials. */
export function createCloudKittyClient(config: BridgeConfig, logger: Logger): CloudKittyClient {
  const http = {
    timeoutMs: parseDuration(config.cloudkitty.timeout),
    logger,
    pageSize: config.cloudkitty.pageSize,
  };
  const os = config.openstack;
  if (!os.authUrl) return new CloudKittyClient({ ...http, url: config.cloudkitty.url });
  const session = new KeystoneSession({
    authUrl: os.authUrl,
    logger,
    region: os.regionName || undefined,
    interface: os.interface as EndpointInterface,
    credentials: os.applicationCredentialId
      ? {
          type: 'application_credential',
          id: os.applicationCredentialId,
          secret: os.applicationCredentialSecret,
        }
      : {
          type: 'password',
          password: os.password,
          userId: os.userId || undefined,
          username: os.userId ? undefined : os.username,
          userDomainName: os.userDomainName,
          projectId: os.projectId || undefined,
          projectName: os.projectId ? undefined : os.projectName,
          projectDomainName: os.projectDomainName,
        },
  });
  // CLOUDKITTY_URL next to Keystone credentials overrides the catalog's rating endpoint.
  return config.cloudkitty.url
    ? new CloudKittyClient({ ...http, url: config.cloudkitty.url })
    : new CloudKittyClient({ ...http, session });
}

export function createBridgeRuntime(config: BridgeConfig, logger: Logger): BridgeRuntime {
  const redis = createRedisConnection(config.redis.url, 'worker');
  const clients = createTenantClients(config);
  const registry = new RegistryStore(redis, config.redis.prefix);
  const ledger = new UsageLedger(redis, config.redis.prefix);
  const registrar = new AccountRegistrar({
    clients,
    store: registry,
    metricUnits: config.metering.metricUnits,
    logger,
  });
  const usageSync = new UsageSync({
    registry,
    ledger,
    cloudkitty: createCloudKittyClient(config, logger),
    clients,
    windowSize: parseWindowSize(config.metering.windowSize),
    settleDelayMs: parseDuration(config.metering.settleDelay)!,
    horizonPeriods: config.metering.lateHorizonPeriods,
    lockTtlMs: parseDuration(config.metering.lockTtl),
    rateScale: config.metering.rateScale,
    logger,
  });
  return {
    config,
    logger,
    redis,
    clients,
    registry,
    registrar,
    ledger,
    usageSync,
    async close() {
      redis.disconnect();
    },
  };
}
