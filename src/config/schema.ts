import convict from 'convict';
import { addConfigFormats } from './formats.js';
import { processSchema } from './schema-process.js';
import { upstreamSchema } from './schema-upstream.js';

export interface TenantCredentials {
  apiKey: string;
  apiSecret: string;
}

export interface BridgeConfig {
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

/** Keys whose values are secrets: masked in `bridge config check` and never logged. */
export const SECRET_KEYS = new Set([
  'killbill.password',
  'killbill.apiSecret',
  'killbill.extraTenants',
  'openstack.password',
  'openstack.applicationCredentialSecret',
  'server.callbackToken',
  'dashboard.password',
  'redis.url',
]);

// Every key has doc, format, default and env, so `bridge config check` and the README table can be
// generated from this one place.
export const schema: convict.Schema<BridgeConfig> = { ...upstreamSchema, ...processSchema };

export function createConfig(): convict.Config<BridgeConfig> {
  addConfigFormats();
  return convict<BridgeConfig>(schema);
}
