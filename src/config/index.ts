export {
  loadConfig,
  requireCloudKitty,
  schemaLeaves,
  DEFAULT_SEARCH_PATH,
  type LoadedConfig,
  type LoadConfigOptions,
} from './load-config.js';
export { ConfigError, describeOrigin, type ConfigProblem, type ValueOrigin } from '../errors/config-error.js';
export {
  renderEffectiveConfig,
  effectiveConfigJson,
  renderConfigTable,
  renderKeyList,
} from './config-report.js';
export { showValue, MASK } from './masking.js';
export type { BridgeConfig, Milliseconds, TenantCredentials, WrittenConfig } from './schema.js';
