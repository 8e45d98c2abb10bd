import type convict from 'convict';
import type { WrittenConfig } from './config-types.js';

/** The settings of the bridge's own processes: its HTTP server, dashboard, worker, logs, sync and registry. */
export const processSchema: Omit<
  convict.Schema<WrittenConfig>,
  'redis' | 'killbill' | 'openstack' | 'cloudkitty'
> = {
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
      doc: "Usage jobs run at once by one worker process (`bridge sync`: subscriptions synced side by side, one Kill Bill call each at a time, their ledger writes sharing round trips to Redis). Kill Bill's usage calls peak around 16 at once on a 2-core server (BENCHMARKS.md).",
      format: 'positive-int',
      default: 16,
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
