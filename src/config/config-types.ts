/** The configuration's shapes: as written (validated by the schema) and as the bridge uses it (parsed). */
import type { WindowSize } from '../metering/index.js';
import type { RedisTopology } from './redis-url.js';

export interface TenantCredentials {
  apiKey: string;
  apiSecret: string;
}

/** A span of time in milliseconds. */
export type Milliseconds = number;

/**
 * The configuration as the schema validates it, durations still as written (`'15m'`): what `bridge config
 * check` prints and the cross-key checks read. The bridge itself uses {@link BridgeConfig}.
 */
export interface WrittenConfig {
  redis: { url: string; prefix: string; tlsCaFile: string };
  killbill: {
    url: string;
    username: string;
    password: string;
    apiKey: string;
    apiSecret: string;
    extraTenants: TenantCredentials[];
    planName: string;
    createdBy: string;
    timeout: string;
    usageTzMode: 'FIXED' | 'VARIABLE' | 'UTC';
  };
  openstack: {
    authUrl: string;
    username: string;
    password: string;
    userId: string;
    projectName: string;
    projectId: string;
    userDomainName: string;
    projectDomainName: string;
    regionName: string;
    interface: string;
    applicationCredentialId: string;
    applicationCredentialSecret: string;
  };
  cloudkitty: {
    url: string;
    stackAttribution: 'groupby' | 'heat';
    stackAttribute: string;
    pageSize: number;
    timeout: string;
    scopeState: 'required' | 'optional';
  };
  server: {
    port: number;
    publicUrl: string;
    callbackToken: string;
    registerCallback: boolean;
    shutdownTimeout: string;
  };
  dashboard: { username: string; password: string };
  worker: { healthPort: number };
  log: { level: string };
  metering: {
    metricUnits: Record<string, string>;
    windowSize: string;
    settleDelay: string;
    rateScale: number;
    lateHorizonPeriods: number;
    syncEvery: string;
    concurrency: number;
    recheckEvery: string;
    lockTtl: string;
  };
  registry: { reconcileEvery: string; concurrency: number; pageSize: number };
}

/** The configuration the bridge runs with: {@link WrittenConfig} with each duration read once, at load. */
export interface BridgeConfig {
  /** `topology` is `url` read once: which Redis, Sentinels or Cluster nodes to connect to. */
  redis: WrittenConfig['redis'] & { topology: RedisTopology };
  killbill: Omit<WrittenConfig['killbill'], 'timeout'> & { timeoutMs: Milliseconds };
  openstack: WrittenConfig['openstack'];
  cloudkitty: Omit<WrittenConfig['cloudkitty'], 'timeout'> & { timeoutMs: Milliseconds };
  server: Omit<WrittenConfig['server'], 'shutdownTimeout'> & { shutdownTimeoutMs: Milliseconds };
  dashboard: WrittenConfig['dashboard'];
  worker: WrittenConfig['worker'];
  log: WrittenConfig['log'];
  metering: Omit<
    WrittenConfig['metering'],
    'windowSize' | 'settleDelay' | 'syncEvery' | 'recheckEvery' | 'lockTtl'
  > & {
    windowSize: WindowSize;
    settleDelayMs: Milliseconds;
    syncEveryMs: Milliseconds;
    recheckEveryMs: Milliseconds;
    lockTtlMs: Milliseconds;
  };
  registry: Omit<WrittenConfig['registry'], 'reconcileEvery'> & { reconcileEveryMs: Milliseconds };
}
