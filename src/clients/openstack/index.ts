export { CloudKittyClient, type CloudKittyClientOptions, type ScopeState } from './cloudkitty-client.js';
export {
  encodeFilters,
  type SummaryFilters,
  type SummaryQuery,
  type SummaryRow,
} from './cloudkitty-summary.js';
export { formatCloudKittyTime, parseCloudKittyTime } from './cloudkitty-time.js';
export {
  KeystoneSession,
  type EndpointInterface,
  type KeystoneApplicationCredential,
  type KeystoneCredentials,
  type KeystonePasswordCredentials,
  type KeystoneSessionOptions,
} from './keystone-session.js';
export {
  apiRoot,
  EVERY_NESTED_LEVEL,
  HeatClient,
  NOVA_SERVER,
  type HeatClientOptions,
  type HeatResource,
  type StackAddress,
} from './heat-client.js';
export { type OpenStackHttpOptions, type OpenStackRequestEvent } from './openstack-http.js';
