import convict from 'convict';
import { addConfigFormats } from './formats.js';

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
export const schema: convict.Schema<BridgeConfig> = {
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
      doc: 'Rows per /v2/summary request. The pull asks for time chunks that fit one page, since CloudKitty rebuilds the whole result for every page it serves; it sets no maximum.',
      format: 'positive-int',
      default: 5000,
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
  server: {
    // 8081, not 8080: Kill Bill's own default port is 8080, and a bridge listening there would call itself.
    port: { doc: 'HTTP port of the intake API.', format: 'port', default: 8081, env: 'PORT' },
    publicUrl: {
      doc: 'URL at which Kill Bill reaches this service; the callback is registered under it.',
      format: 'http-url',
      default: 'http://127.0.0.1:8081',
      env: 'BRIDGE_PUBLIC_URL',
    },
    callbackToken: {
      doc:
        'Secret in the callback URL (?token=); Kill Bill notifications are unsigned, so this is what lets them in. ' +
        'Unset: the bridge makes a random one per tenant and keeps it in Redis.',
      format: 'optional-callback-token',
      default: '',
      env: 'BRIDGE_CALLBACK_TOKEN',
      sensitive: true,
    },
    registerCallback: {
      doc: 'Register the callback URL with Kill Bill when the API starts.',
      format: Boolean,
      default: true,
      env: 'BRIDGE_REGISTER_CALLBACK',
    },
    shutdownTimeout: {
      doc:
        'On SIGTERM/SIGINT, how long in-flight requests and running jobs get to finish; past it the process ' +
        'exits 1 naming what was still running (its jobs go back to the queue).',
      format: 'duration',
      default: '30s',
      env: 'BRIDGE_SHUTDOWN_TIMEOUT',
    },
  },
  dashboard: {
    username: {
      doc: 'User of the queue dashboard at /admin/queues (HTTP basic auth). Unset: no dashboard.',
      format: String,
      default: '',
      env: 'BRIDGE_DASHBOARD_USERNAME',
    },
    password: {
      doc: 'Password of the queue dashboard; set together with dashboard.username.',
      format: String,
      default: '',
      env: 'BRIDGE_DASHBOARD_PASSWORD',
      sensitive: true,
    },
  },
  worker: {
    healthPort: {
      doc: 'HTTP port of `bridge worker` for /healthz and /readyz; 0 = none. `bridge start` uses server.port.',
      format: 'port',
      default: 8082,
      env: 'BRIDGE_WORKER_HEALTH_PORT',
    },
  },
  log: {
    level: {
      doc: 'Log level.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'LOG_LEVEL',
    },
  },
  metering: {
    metricUnits: {
      doc: 'CloudKitty metric type → Kill Bill usage unit.',
      format: 'metric-units',
      default: { instance: 'openstack-billed-instance', vcpus: 'openstack-billed-vcpus' },
      env: 'BRIDGE_METRIC_UNITS',
    },
    windowSize: {
      doc: 'Size of a usage window (aligned in UTC).',
      format: 'window-size',
      default: '1h',
      env: 'BRIDGE_WINDOW_SIZE',
    },
    settleDelay: {
      doc: 'How long after its end a window is taken as rated, when CloudKitty reports no scope state for the project and cloudkitty.scopeState is optional.',
      format: 'duration',
      default: '2h',
      env: 'BRIDGE_SETTLE_DELAY',
    },
    rateScale: {
      doc: 'Decimal places CloudKitty rates are cut to (half-up) before they are summed: drops the float noise of its sums.',
      format: 'positive-int',
      default: 8,
      env: 'BRIDGE_RATE_SCALE',
    },
    lateHorizonPeriods: {
      doc: 'Billing periods (current included) in which recorded windows are re-checked for re-rating.',
      format: 'positive-int',
      default: 2,
      env: 'BRIDGE_LATE_HORIZON_PERIODS',
    },
    syncEvery: {
      doc: 'How often the usage sync runs.',
      format: 'duration',
      default: '15m',
      env: 'BRIDGE_SYNC_EVERY',
    },
    concurrency: {
      doc: 'Usage jobs run at once by one worker process.',
      format: 'positive-int',
      default: 4,
      env: 'BRIDGE_SYNC_CONCURRENCY',
    },
    recheckEvery: {
      doc: 'How often recorded windows inside the late-usage horizon are checked again for re-rating and late data.',
      format: 'duration',
      default: '6h',
      env: 'BRIDGE_RECHECK_EVERY',
    },
    lockTtl: {
      doc: "How long a crashed worker's hold on a subscription outlives it; renewed while a sync runs.",
      format: 'duration',
      default: '1m',
      env: 'BRIDGE_LOCK_TTL',
    },
  },
  registry: {
    reconcileEvery: {
      doc: 'How often the registry is rebuilt from all Kill Bill accounts.',
      format: 'duration',
      default: '1h',
      env: 'BRIDGE_RECONCILE_EVERY',
    },
    concurrency: {
      doc: 'Accounts written to the registry at once while it is rebuilt.',
      format: 'positive-int',
      default: 8,
      env: 'BRIDGE_REGISTRY_CONCURRENCY',
    },
    pageSize: {
      doc: "Rows per page of Kill Bill's account, bundle and custom-field listings a registry rebuild reads.",
      format: 'positive-int',
      default: 1000,
      env: 'BRIDGE_REGISTRY_PAGE_SIZE',
    },
  },
};

export function createConfig(): convict.Config<BridgeConfig> {
  addConfigFormats();
  return convict<BridgeConfig>(schema);
}
