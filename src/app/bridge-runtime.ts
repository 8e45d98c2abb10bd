import type { BridgeConfig } from '../config/index.js';
import type { KillBillClient } from '../clients/killbill/killbill-client.js';
import { createTenantClients } from '../clients/killbill/tenant-clients.js';
import type { Logger } from '../logging/logger.js';
import { BridgeMetrics } from '../metrics/bridge-metrics.js';
import {
  CloudKittyClient,
  HeatClient,
  KeystoneSession,
  type EndpointInterface,
  type OpenStackRequestEvent,
} from '../clients/openstack/index.js';
import { createRedisConnection, type RedisClient } from '../jobs/redis-connection.js';
import { AccountRegistrar } from '../registry/account-registrar.js';
import { RegistryStore } from '../registry/registry-store.js';
import { SyncFreshness } from '../sync/sync-freshness.js';
import { UsageLedger } from '../record/usage-ledger.js';
import { HeatAttribution } from '../sync/heat-attribution.js';
import { ServerStackMemory } from '../sync/server-stacks.js';
import { GroupbyAttribution, type StackAttribution } from '../sync/stack-attribution.js';
import { UsageSync } from '../sync/usage-sync.js';
import { DependencyWatch } from './dependency-watch.js';
import { networkReason } from '../errors/index.js';

/** Everything the workers and the sync commands share, built once from the configuration. */
export interface BridgeRuntime {
  config: BridgeConfig;
  logger: Logger;
  redis: RedisClient;
  clients: Map<string, KillBillClient>;
  registry: RegistryStore;
  registrar: AccountRegistrar;
  ledger: UsageLedger;
  usageSync: UsageSync;
  /** Says when Redis, Kill Bill or CloudKitty stop answering and when they are back. */
  watch: DependencyWatch;
  /** This process's Prometheus families, fed by the clients, the sync and (once started) the workers. */
  metrics: BridgeMetrics;
  close(): Promise<void>;
}

export interface BridgeRuntimeOptions {
  /** Shared with the API in `bridge start`, so one outage is said once. */
  watch?: DependencyWatch;
  /** An already connected Redis (commands connect once and fail fast); default a reconnecting one. */
  redis?: RedisClient;
  /** Shared with the API in `bridge start`, so one /metrics reports both. */
  metrics?: BridgeMetrics;
}

/** The Keystone session of the OS_* credentials, shared by CloudKitty and Heat; undefined without OS_AUTH_URL. */
function createKeystoneSession(
  config: BridgeConfig,
  logger: Logger,
  watch?: DependencyWatch,
  metrics?: BridgeMetrics,
): KeystoneSession | undefined {
  const os = config.openstack;
  if (!os.authUrl) return undefined;
  return new KeystoneSession({
    authUrl: os.authUrl,
    logger,
    onRequest: requestHooks(
      watch && reachabilityOf(watch, 'keystone', os.authUrl),
      metrics?.openStackObserver('keystone'),
    ),
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
}

/** CloudKitty at CLOUDKITTY_URL (no auth, or overriding the catalog), or found in the Keystone catalog. */
export function createCloudKittyClient(
  config: BridgeConfig,
  logger: Logger,
  watch?: DependencyWatch,
  metrics?: BridgeMetrics,
  session?: KeystoneSession,
): CloudKittyClient {
  const http = {
    timeoutMs: config.cloudkitty.timeoutMs,
    logger,
    pageSize: config.cloudkitty.pageSize,
    onRequest: requestHooks(
      watch && reachabilityOf(watch, 'cloudkitty', config.cloudkitty.url),
      metrics?.openStackObserver('cloudkitty'),
    ),
  };
  // CLOUDKITTY_URL next to Keystone credentials overrides the catalog's rating endpoint.
  return session && !config.cloudkitty.url
    ? new CloudKittyClient({ ...http, session })
    : new CloudKittyClient({ ...http, url: config.cloudkitty.url });
}

/** `cloudkitty.stackAttribution`: CloudKitty's stack attribute, or Heat through the Keystone session. */
function createStackAttribution(
  config: BridgeConfig,
  logger: Logger,
  redis: RedisClient,
  session: KeystoneSession | undefined,
  metrics: BridgeMetrics,
): StackAttribution {
  if (config.cloudkitty.stackAttribution !== 'heat')
    return new GroupbyAttribution(config.cloudkitty.stackAttribute);
  // The configuration refuses heat without OS_AUTH_URL; this says so again for a runtime built by hand.
  if (!session) throw new TypeError('cloudkitty.stackAttribution heat needs openstack.authUrl');
  const heat = new HeatClient({ session, logger, onRequest: metrics.openStackObserver('heat') });
  return new HeatAttribution({ heat, memory: new ServerStackMemory(redis, config.redis.prefix), logger });
}

type RequestHook = (e: OpenStackRequestEvent) => void;

/** One hook calling each given one: the watch and the metrics both follow every request. */
function requestHooks(...hooks: Array<RequestHook | undefined>): RequestHook | undefined {
  const given = hooks.filter((h): h is RequestHook => h !== undefined);
  return given.length === 0 ? undefined : (e) => given.forEach((h) => h(e));
}

/** An OpenStack request hook telling the watch whether the service answered. */
function reachabilityOf(watch: DependencyWatch, dependency: 'cloudkitty' | 'keystone', configured: string) {
  return (e: OpenStackRequestEvent) => {
    if (e.status !== undefined) watch.up(dependency);
    // A CloudKitty found in the Keystone catalog has no configured URL: name it by the one called.
    else watch.down(dependency, configured || new URL(e.url).origin, networkReason(e.failure ?? 'no answer'));
  };
}

export function createBridgeRuntime(
  config: BridgeConfig,
  logger: Logger,
  options: BridgeRuntimeOptions = {},
): BridgeRuntime {
  const watch = options.watch ?? new DependencyWatch({ logger });
  const redis = options.redis ?? createRedisConnection(config.redis, 'worker');
  if (!options.redis) watch.watchRedis(redis, config.redis.url, 'worker');
  const metrics = options.metrics ?? BridgeMetrics.forConfig(config);
  const clients = createTenantClients(
    config,
    watch.killBillObserver(config.killbill.url),
    metrics.killBillObserver(),
  );
  const registry = new RegistryStore(redis, config.redis.prefix);
  const session = createKeystoneSession(config, logger, watch, metrics);
  const ledger = new UsageLedger(redis, config.redis.prefix);
  const registrar = new AccountRegistrar({
    clients,
    store: registry,
    metricUnits: config.metering.metricUnits,
    logger,
    concurrency: config.registry.concurrency,
    pageSize: config.registry.pageSize,
  });
  const usageSync = new UsageSync({
    registry,
    ledger,
    cloudkitty: createCloudKittyClient(config, logger, watch, metrics, session),
    clients,
    windowSize: config.metering.windowSize,
    settleDelayMs: config.metering.settleDelayMs,
    scopeState: config.cloudkitty.scopeState,
    horizonPeriods: config.metering.lateHorizonPeriods,
    lockTtlMs: config.metering.lockTtlMs,
    rateScale: config.metering.rateScale,
    tzMode: config.killbill.usageTzMode,
    attribution: createStackAttribution(config, logger, redis, session, metrics),
    logger,
    observer: metrics,
    freshness: new SyncFreshness(redis, config.redis.prefix),
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
    watch,
    metrics,
    async close() {
      await metrics.close();
      redis.disconnect();
    },
  };
}
