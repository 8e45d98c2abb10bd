import type convict from 'convict';
import type { WrittenConfig } from './config-types.js';

/** The settings of what the bridge talks to: Redis, Kill Bill, Keystone and CloudKitty. */
export const upstreamSchema: Pick<
  convict.Schema<WrittenConfig>,
  'redis' | 'killbill' | 'openstack' | 'cloudkitty'
> = {
  redis: {
    url: {
      doc:
        'Redis holding the queues, the registry and the watermarks: redis:// or rediss:// (TLS), ' +
        'redis-sentinel://host1:26379,host2:26379/mymaster, or redis-cluster://host1:7000,host2:7001 ' +
        '(see docs/redis.md). Use noeviction: an evicted key is lost work.',
      format: 'redis-url',
      default: 'redis://127.0.0.1:6379',
      env: 'REDIS_URL',
    },
    prefix: {
      doc:
        'Prefix of every Redis key the bridge writes, so several bridges can share one Redis. ' +
        'With Redis Cluster it must be a hash tag such as {osb}, so each script and queue stays in one slot.',
      format: 'required-string',
      default: 'osb',
      env: 'BRIDGE_REDIS_PREFIX',
    },
    tlsCaFile: {
      doc: 'PEM file of the CA(s) that signed the Redis TLS certificates (rediss… URLs); empty: the system CAs.',
      format: String,
      default: '',
      env: 'REDIS_TLS_CA_FILE',
    },
  },
  killbill: {
    url: {
      doc: 'Kill Bill base URL, without /1.0/kb.',
      format: 'http-url',
      default: 'http://127.0.0.1:8080',
      env: 'KILLBILL_URL',
    },
    username: {
      doc: 'Kill Bill user (basic auth).',
      format: 'required-string',
      default: 'admin',
      env: 'KILLBILL_USERNAME',
    },
    password: {
      doc: 'Kill Bill password (basic auth).',
      format: 'required-string',
      default: 'password',
      env: 'KILLBILL_PASSWORD',
      sensitive: true,
    },
    apiKey: {
      doc: "The tenant's API key (X-Killbill-ApiKey).",
      format: 'required-string',
      default: '',
      env: 'KILLBILL_API_KEY',
    },
    apiSecret: {
      doc: "The tenant's API secret (X-Killbill-ApiSecret).",
      format: 'required-string',
      default: '',
      env: 'KILLBILL_API_SECRET',
      sensitive: true,
    },
    extraTenants: {
      doc: 'Further tenants, as a YAML list of {apiKey, apiSecret}; each gets its own callback URL.',
      format: 'tenant-list',
      default: [],
      env: 'KILLBILL_EXTRA_TENANTS',
      sensitive: true,
    },
    planName: {
      doc: 'Plan that `bridge setup` subscribes accounts to.',
      format: 'required-string',
      default: 'openstack-standard-monthly',
      env: 'KILLBILL_PLAN_NAME',
    },
    createdBy: {
      doc: 'X-Killbill-CreatedBy on every write, as it appears in Kill Bill audit logs.',
      format: 'required-string',
      default: 'killbill-openstack-bridge',
      env: 'KILLBILL_CREATED_BY',
    },
    timeout: {
      doc: 'Timeout of one Kill Bill call.',
      format: 'duration',
      default: '20s',
      env: 'KILLBILL_TIMEOUT',
    },
    usageTzMode: {
      doc: "The Kill Bill server's org.killbill.invoice.usage.tz.mode: where its usage periods start (FIXED: the account's offset at its reference time, all year; VARIABLE: local midnight with DST). UTC: midnight UTC of the bill-cycle date, for servers without that setting (Kill Bill 0.24.0–0.24.3; 0.22.x, which dates usage by day, with records dated by their UTC day).",
      format: ['FIXED', 'VARIABLE', 'UTC'],
      default: 'FIXED',
      env: 'KILLBILL_USAGE_TZ_MODE',
    },
  },
  openstack: {
    authUrl: {
      doc: 'Keystone v3 URL. Empty: no Keystone, CLOUDKITTY_URL is a CloudKitty without auth.',
      format: 'optional-http-url',
      default: '',
      env: 'OS_AUTH_URL',
    },
    username: { doc: 'Keystone user name.', format: String, default: '', env: 'OS_USERNAME' },
    password: { doc: 'Keystone password.', format: String, default: '', env: 'OS_PASSWORD', sensitive: true },
    userId: { doc: 'Keystone user id (instead of a name).', format: String, default: '', env: 'OS_USER_ID' },
    projectName: {
      doc: 'Project to scope the token to.',
      format: String,
      default: '',
      env: 'OS_PROJECT_NAME',
    },
    projectId: {
      doc: 'Project id to scope the token to.',
      format: String,
      default: '',
      env: 'OS_PROJECT_ID',
    },
    userDomainName: { doc: "User's domain.", format: String, default: 'Default', env: 'OS_USER_DOMAIN_NAME' },
    projectDomainName: {
      doc: "Project's domain.",
      format: String,
      default: 'Default',
      env: 'OS_PROJECT_DOMAIN_NAME',
    },
    regionName: {
      doc: 'Region of the rating (and, with Heat attribution, orchestration) endpoint.',
      format: String,
      default: '',
      env: 'OS_REGION_NAME',
    },
    interface: {
      doc: 'Endpoint interface in the service catalog.',
      format: ['public', 'internal', 'admin'],
      default: 'public',
      env: 'OS_INTERFACE',
    },
    applicationCredentialId: {
      doc: 'Application credential id (instead of a password).',
      format: String,
      default: '',
      env: 'OS_APPLICATION_CREDENTIAL_ID',
    },
    applicationCredentialSecret: {
      doc: 'Application credential secret.',
      format: String,
      default: '',
      env: 'OS_APPLICATION_CREDENTIAL_SECRET',
      sensitive: true,
    },
  },
  cloudkitty: {
    url: {
      doc: 'CloudKitty URL. Overrides the rating endpoint of the Keystone catalog.',
      format: 'optional-http-url',
      default: '',
      env: 'CLOUDKITTY_URL',
    },
    stackAttribution: {
      doc:
        'How the usage of a project shared by clusters (subscriptions with openstack_stack_id) is told apart by stack. ' +
        'groupby: CloudKitty groups it by the attribute cloudkitty.stackAttribute. heat: CloudKitty groups it by ' +
        "resource id and each cluster's servers are listed through Heat (the orchestration endpoint of the Keystone " +
        'catalog: needs OS_AUTH_URL, and a user with the admin role). See docs/clusters.md.',
      format: ['groupby', 'heat'],
      default: 'groupby',
      env: 'CLOUDKITTY_STACK_ATTRIBUTION',
    },
    stackAttribute: {
      doc: 'With cloudkitty.stackAttribution groupby: the CloudKitty groupby attribute carrying the Heat stack id of a resource, which tells the clusters (subscriptions with openstack_stack_id) of one project apart; docs/clusters.md says how to make CloudKitty export it.',
      format: 'required-string',
      default: 'stack_id',
      env: 'CLOUDKITTY_STACK_ATTRIBUTE',
    },
    pageSize: {
      doc: 'Rows a /v2/summary request aims at, not a cap. The pull asks for time chunks of about one page, since CloudKitty rebuilds the whole result for every request; a pull longer than an hour makes its chunks larger, a few pages at most, so that with the two calls that frame it, it makes no more requests than its rows fill pages (three at least); an hour holding more rows than this (projects × metric types) is asked again whole with a limit of its total, never paged by offset (BENCHMARKS.md).',
      format: 'positive-int',
      default: 50000,
      env: 'CLOUDKITTY_PAGE_SIZE',
    },
    timeout: {
      doc: 'Timeout of one CloudKitty call.',
      format: 'duration',
      default: '60s',
      env: 'CLOUDKITTY_TIMEOUT',
    },
    scopeState: {
      doc:
        'required: a project is recorded only once cloudkitty-processor has a scope state for it (GET /v2/scope), ' +
        'since CloudKitty rates a project it has never processed back to the start of the month. ' +
        'optional: a project without one is taken as rated metering.settleDelay after each window, for a CloudKitty ' +
        'fed through POST /v2/dataframes without its processor (which never creates scope states).',
      format: ['required', 'optional'],
      default: 'required',
      env: 'CLOUDKITTY_SCOPE_STATE',
    },
  },
};
