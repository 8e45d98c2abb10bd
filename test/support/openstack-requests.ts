import type { OpenStackRequestEvent } from '../../src/clients/openstack/openstack-http.js';

/**
 * Counts what an OpenStack client sent, through its `onRequest` option (the hook the bridge's metrics use),
 * so the product clients keep no counters only tests read.
 */
export class OpenStackRequests {
  readonly events: OpenStackRequestEvent[] = [];
  readonly onRequest = (event: OpenStackRequestEvent): void => {
    this.events.push(event);
  };

  /** Requests sent, each retry counted. */
  get count(): number {
    return this.events.length;
  }

  /** Tokens Keystone issued: its answers 201 to `POST …/auth/tokens`. */
  get tokensIssued(): number {
    return this.events.filter(
      (e) => e.method === 'POST' && new URL(e.url).pathname.endsWith('/auth/tokens') && e.status === 201,
    ).length;
  }
}
