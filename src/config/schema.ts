import type Convict from 'convict';
import { convict } from './convict.js';
import { addConfigFormats } from './formats.js';
import { processSchema } from './schema-process.js';
import { upstreamSchema } from './schema-upstream.js';
import type { WrittenConfig } from './config-types.js';

export type { BridgeConfig, Milliseconds, TenantCredentials, WrittenConfig } from './config-types.js';

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
export const schema: Convict.Schema<WrittenConfig> = { ...upstreamSchema, ...processSchema };

export function createConfig(): Convict.Config<WrittenConfig> {
  addConfigFormats();
  return convict<WrittenConfig>(schema);
}
