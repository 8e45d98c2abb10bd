import { Counter, Histogram, type Registry } from 'prom-client';
import type { KillBillCall } from '../clients/killbill/killbill-client.js';
import type { OpenStackRequestEvent } from '../clients/openstack/index.js';

export type OpenStackService = 'cloudkitty' | 'keystone' | 'heat';

/** Seconds; CloudKitty summaries of many projects take seconds, a Kill Bill read milliseconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** `2xx` … `5xx`, or `none` when no answer came (refused, reset, timed out). */
export function statusClass(status: number | undefined): string {
  return status === undefined ? 'none' : `${Math.floor(status / 100)}xx`;
}

/**
 * The path of a URL with its query dropped and anything that looks like an id replaced by `{id}`, so a
 * label value names an endpoint, never a project or a token: the label set stays bounded.
 */
export function pathTemplate(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return 'unknown';
  }
  // A Heat stack's name follows `stacks/`: one label per cluster would grow without bound.
  return path
    .split('/')
    .map((s, i, all) =>
      /^(?=.*\d)[0-9a-f-]{8,}$/i.test(s) || /^\d+$/.test(s)
        ? '{id}'
        : all[i - 1] === 'stacks'
          ? '{stack}'
          : s,
    )
    .join('/');
}

/** `record usage` → `record_usage`: Kill Bill client operations are a fixed set of phrases. */
function operationLabel(operation: string): string {
  return operation.trim().toLowerCase().replace(/\s+/g, '_');
}

/** Durations and errors of every call to Kill Bill, CloudKitty and Keystone. */
export class RequestMetrics {
  private readonly killBillSeconds: Histogram<'operation' | 'status_class'>;
  private readonly killBillErrors: Counter<'operation' | 'status'>;
  private readonly openStackSeconds: Histogram<'service' | 'method' | 'path' | 'status_class'>;
  private readonly openStackErrors: Counter<'service' | 'method' | 'path' | 'status'>;

  constructor(registry: Registry) {
    this.killBillSeconds = new Histogram({
      name: 'bridge_killbill_request_duration_seconds',
      help: 'Kill Bill calls by operation and status class (none = no answer).',
      labelNames: ['operation', 'status_class'],
      buckets: BUCKETS,
      registers: [registry],
    });
    this.killBillErrors = new Counter({
      name: 'bridge_killbill_request_errors_total',
      help: 'Kill Bill calls answered 4xx/5xx or not at all (status none), by operation and status.',
      labelNames: ['operation', 'status'],
      registers: [registry],
    });
    this.openStackSeconds = new Histogram({
      name: 'bridge_openstack_request_duration_seconds',
      help: 'CloudKitty and Keystone HTTP attempts by service, method, path template and status class.',
      labelNames: ['service', 'method', 'path', 'status_class'],
      buckets: BUCKETS,
      registers: [registry],
    });
    this.openStackErrors = new Counter({
      name: 'bridge_openstack_request_errors_total',
      help: 'CloudKitty and Keystone HTTP attempts answered 4xx/5xx or not at all (status none).',
      labelNames: ['service', 'method', 'path', 'status'],
      registers: [registry],
    });
  }

  killBillCall(call: KillBillCall): void {
    const operation = operationLabel(call.operation);
    this.killBillSeconds.observe(
      { operation, status_class: statusClass(call.status) },
      call.durationMs / 1000,
    );
    if (call.status === undefined || call.status >= 400) {
      this.killBillErrors.inc({ operation, status: String(call.status ?? 'none') });
    }
  }

  openStackRequest(service: OpenStackService, e: OpenStackRequestEvent): void {
    const labels = { service, method: e.method, path: pathTemplate(e.url) };
    this.openStackSeconds.observe({ ...labels, status_class: statusClass(e.status) }, e.durationMs / 1000);
    if (e.status === undefined || e.status >= 400) {
      this.openStackErrors.inc({ ...labels, status: String(e.status ?? 'none') });
    }
  }
}
