import type { KeystoneAccess } from './cloudkitty.js';
import { waitFor } from './wait.js';

/** A cluster as Heat made it: its stack and the ids of its servers at every nested level. */
export interface Cluster {
  projectId: string;
  stackName: string;
  stackId: string;
  servers: string[];
}

// No Nova here: Heat's own placeholder resource stands in for each server. Heat still lists it as
// OS::Nova::Server (the template's type) with a physical id it made, as it would a server's id.
const ENVIRONMENT = { resource_registry: { 'OS::Nova::Server': 'OS::Heat::None' } };
const SERVER = { type: 'OS::Nova::Server', properties: { image: 'debian-12', flavor: 'm1.small' } };

/**
 * What an operator and a Concertim user do around the bridge in a real Keystone and Heat: projects, the
 * admin role on them, clusters (stacks of servers, some in a nested ResourceGroup), catalog endpoints. By
 * plain fetch, so none of it depends on the clients under test.
 */
export class HeatCloud {
  private constructor(
    private readonly access: KeystoneAccess,
    private readonly heatUrl: string,
    private readonly adminToken: string,
    private readonly userId: string,
  ) {}

  static async login(access: KeystoneAccess, heatUrl: string): Promise<HeatCloud> {
    const { token, body } = await issueToken(access, {
      name: access.projectName,
      domain: { name: access.projectDomainName },
    });
    return new HeatCloud(access, heatUrl, token, (body as { token: { user: { id: string } } }).token.user.id);
  }

  /** A new project, on which the admin user has the admin role (to make stacks in it). */
  async createProject(name: string): Promise<string> {
    const made = await this.keystone('POST', '/projects', { project: { name, domain_id: 'default' } });
    const projectId = (made as { project: { id: string } }).project.id;
    const roles = (await this.keystone('GET', '/roles?name=admin')) as { roles: Array<{ id: string }> };
    await this.keystone('PUT', `/projects/${projectId}/users/${this.userId}/roles/${roles.roles[0]!.id}`);
    return projectId;
  }

  /** A region whose `rating` and `orchestration` endpoints are the URLs given (e.g. a proxy in front of Heat). */
  async addRegion(region: string, urls: { rating: string; orchestration: string }): Promise<void> {
    await this.keystone('POST', '/regions', { region: { id: region } });
    for (const [type, url] of Object.entries(urls)) {
      const found = (await this.keystone('GET', `/services?type=${type}`)) as {
        services: Array<{ id: string }>;
      };
      const service_id = found.services[0]!.id;
      for (const iface of ['public', 'internal', 'admin']) {
        await this.keystone('POST', '/endpoints', {
          endpoint: { service_id, interface: iface, region_id: region, url },
        });
      }
    }
  }

  /** A stack of `single` servers plus a ResourceGroup of `grouped` more, created and complete. */
  async createCluster(projectId: string, stackName: string, single: number, grouped = 0): Promise<Cluster> {
    const { token } = await issueToken(this.access, { id: projectId });
    const resources: Record<string, unknown> = {};
    for (let i = 0; i < single; i++) resources[`node${i}`] = SERVER;
    if (grouped > 0) {
      resources.workers = {
        type: 'OS::Heat::ResourceGroup',
        properties: { count: grouped, resource_def: SERVER },
      };
    }
    const template = { heat_template_version: '2018-08-31', resources };
    const made = await this.heat(token, 'POST', `/${projectId}/stacks`, {
      stack_name: stackName,
      template,
      environment: ENVIRONMENT,
    });
    const stackId = (made as { stack: { id: string } }).stack.id;
    const path = `/${projectId}/stacks/${stackName}/${stackId}`;
    await this.waitForStatus(path, 'CREATE_COMPLETE');
    const listed = (await this.heat(this.adminToken, 'GET', `${path}/resources?nested_depth=5`)) as {
      resources: Array<{ resource_type: string; physical_resource_id: string }>;
    };
    const servers = listed.resources
      .filter((r) => r.resource_type === 'OS::Nova::Server')
      .map((r) => r.physical_resource_id);
    if (servers.length !== single + grouped)
      throw new Error(`stack ${stackName} has ${servers.length} servers`);
    return { projectId, stackName, stackId, servers };
  }

  /** Deletes a cluster's stack, as a user tearing it down; Heat then lists none of its resources. */
  async deleteCluster(cluster: Cluster): Promise<void> {
    const path = `/${cluster.projectId}/stacks/${cluster.stackName}/${cluster.stackId}`;
    await this.heat(this.adminToken, 'DELETE', path);
    await this.waitForStatus(path, 'DELETE_COMPLETE');
  }

  private async waitForStatus(path: string, status: string): Promise<void> {
    // A failed stack throws each try, so the timeout's message carries Heat's reason.
    await waitFor(
      `${path} reaches ${status}`,
      async () => {
        const shown = (await this.heat(this.adminToken, 'GET', path)) as {
          stack: { stack_status: string; stack_status_reason: string };
        };
        const { stack_status: now, stack_status_reason: why } = shown.stack;
        if (now.endsWith('_FAILED')) throw new Error(`${now}: ${why}`);
        return now === status;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }

  private keystone(method: string, path: string, json?: unknown): Promise<unknown> {
    return call(`${this.access.authUrl}${path}`, this.adminToken, method, json);
  }

  private heat(token: string, method: string, path: string, json?: unknown): Promise<unknown> {
    return call(`${this.heatUrl}/v1${path}`, token, method, json);
  }
}

async function issueToken(
  access: KeystoneAccess,
  project: unknown,
): Promise<{ token: string; body: unknown }> {
  const user = { name: access.username, domain: { name: access.userDomainName }, password: access.password };
  const res = await fetch(`${access.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      auth: { identity: { methods: ['password'], password: { user } }, scope: { project } },
    }),
  });
  if (res.status !== 201) throw new Error(`Keystone login failed: ${res.status} ${await res.text()}`);
  return { token: res.headers.get('x-subject-token') ?? '', body: await res.json() };
}

async function call(url: string, token: string, method: string, json?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: { 'X-Auth-Token': token, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url} failed: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}
