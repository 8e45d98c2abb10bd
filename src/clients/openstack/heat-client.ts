import type { KeystoneSession } from './keystone-session.js';
import {
  malformedResponse,
  OpenStackHttp,
  type OpenStackHttpOptions,
  type OpenStackHttpRequest,
  type OpenStackHttpResponse,
} from './openstack-http.js';
import { HeatStackNotFoundError } from '../../errors/index.js';

/** Heat's type of a Nova server resource; its physical id is the server id CloudKitty groups by as `id`. */
export const NOVA_SERVER = 'OS::Nova::Server';

/**
 * The `nested_depth` asked of every resource list. Heat answers at most its `max_nested_stack_depth` levels
 * (5 unless raised) and clips a larger value to it, so asking more reaches every level a deployment allows:
 * a cluster's servers usually sit in a nested stack (a ResourceGroup, a nested template).
 */
export const EVERY_NESTED_LEVEL = 100;

/** Where Heat keeps a stack: its canonical address `/v1/{project}/stacks/{name}/{id}`. */
export interface StackAddress {
  projectId: string;
  stackName: string;
  stackId: string;
}

/** One resource of a stack, or of a stack nested in it, as `GET …/resources` lists it. */
export interface HeatResource {
  /** `resource_name`, e.g. `head` or `0` in a ResourceGroup. */
  name: string;
  /** `resource_type`, as the template names it (`OS::Nova::Server`). */
  type: string;
  /** `physical_resource_id`: what the resource created (a server id); empty until it is created. */
  physicalId: string;
  /** `resource_status`, e.g. `CREATE_COMPLETE`. */
  status: string;
}

export type HeatClientOptions = OpenStackHttpOptions & {
  /** The Keystone session whose token and catalog (`orchestration` endpoint) are used. */
  session: KeystoneSession;
};

/**
 * Heat's v1 API, read only: a stack's address from its id, and its resources. The endpoint comes from the
 * session's catalog, which lists it with the token's own project (`/v1/%(project_id)s`); the calls name the
 * project of the stack instead, which Heat allows a token with the admin role.
 */
export class HeatClient {
  private readonly session: KeystoneSession;
  private readonly http: OpenStackHttp;

  constructor(options: HeatClientOptions) {
    this.session = options.session;
    this.http = new OpenStackHttp(options);
  }

  /**
   * `GET /v1/{project}/stacks/{stack_id}`, which Heat answers with a redirect to the stack's canonical
   * address; the redirect is read, not followed (its host is whatever Heat believes its own to be).
   */
  async findStack(projectId: string, stackId: string): Promise<StackAddress> {
    const { sent, response } = await this.call(`/${enc(projectId)}/stacks/${enc(stackId)}`, 'manual');
    if (response.status === 404) throw notFound(sent, response);
    const location = response.headers.get('location');
    const address = location ? addressIn(location, sent.url) : undefined;
    if (response.status < 300 || response.status >= 400 || !address) {
      throw malformedResponse(
        sent,
        response,
        `expected a redirect to the stack's address, got ${location ?? 'none'}`,
      );
    }
    return address;
  }

  /** `GET /v1/{project}/stacks/{name}/{id}/resources?nested_depth=…`: every resource, nested ones included. */
  async stackResources(stack: StackAddress, nestedDepth = EVERY_NESTED_LEVEL): Promise<HeatResource[]> {
    const path = `/${enc(stack.projectId)}/stacks/${enc(stack.stackName)}/${enc(stack.stackId)}/resources`;
    const { sent, response } = await this.call(`${path}?nested_depth=${nestedDepth}`);
    if (response.status === 404) throw notFound(sent, response);
    if (response.status !== 200) throw OpenStackHttp.errorFor(sent, response);
    const list = (response.body as { resources?: unknown } | undefined)?.resources;
    if (!Array.isArray(list)) throw malformedResponse(sent, response, 'no resources array');
    return list.map((r) => {
      const resource = readResource(r);
      if (!resource) throw malformedResponse(sent, response, `unexpected resource ${JSON.stringify(r)}`);
      return resource;
    });
  }

  /** The Nova servers of a stack at every nested level: resources of type `OS::Nova::Server` once created. */
  async stackServers(stack: StackAddress): Promise<Array<{ resourceName: string; serverId: string }>> {
    return (await this.stackResources(stack))
      .filter((r) => r.type === NOVA_SERVER && r.physicalId !== '')
      .map((r) => ({ resourceName: r.name, serverId: r.physicalId }));
  }

  private async call(
    pathAndQuery: string,
    redirect?: 'manual',
  ): Promise<{ sent: OpenStackHttpRequest; response: OpenStackHttpResponse }> {
    for (let renewed = false; ; renewed = true) {
      const url = new URL(`${apiRoot(await this.session.endpoint('orchestration'))}${pathAndQuery}`);
      const headers = { 'X-Auth-Token': await this.session.token() };
      const sent: OpenStackHttpRequest = { method: 'GET', url, headers, redirect };
      const response = await this.http.send(sent);
      // A token can die before its expiry (revoked, keys rotated): renew once, then believe the 401.
      if (response.status === 401 && !renewed) {
        this.session.invalidate();
        continue;
      }
      return { sent, response };
    }
  }
}

/** `http://heat:8004/v1/<token's project>` → `http://heat:8004/v1`: calls name the stack's project. */
export function apiRoot(catalogUrl: string): string {
  const match = /^(.*\/v1)(\/[^/]*)?$/.exec(catalogUrl.replace(/\/+$/, ''));
  return match ? match[1]! : `${catalogUrl.replace(/\/+$/, '')}/v1`;
}

/** The stack address in a Location such as `…/v1/{project}/stacks/{name}/{id}`. */
function addressIn(location: string, base: URL): StackAddress | undefined {
  const path = new URL(location, base).pathname.split('/').map(decodeURIComponent);
  const at = path.lastIndexOf('stacks');
  const [projectId, stackName, stackId] = [path[at - 1], path[at + 1], path[at + 2]];
  if (at < 1 || !projectId || !stackName || !stackId) return undefined;
  return { projectId, stackName, stackId };
}

function readResource(entry: unknown): HeatResource | undefined {
  const r = entry as Record<string, unknown> | null;
  if (!r || typeof r.resource_name !== 'string' || typeof r.resource_type !== 'string') return undefined;
  const physicalId = r.physical_resource_id ?? '';
  if (typeof physicalId !== 'string') return undefined;
  const status = typeof r.resource_status === 'string' ? r.resource_status : '';
  return { name: r.resource_name, type: r.resource_type, physicalId, status };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function notFound(sent: OpenStackHttpRequest, response: OpenStackHttpResponse): HeatStackNotFoundError {
  const { method, url, status, serverMessage, attempts } = OpenStackHttp.errorFor(sent, response);
  return new HeatStackNotFoundError({ method, url, status, serverMessage, attempts });
}
