import type { KeystoneAccess } from '../support/cloudkitty.js';

/**
 * The few Keystone admin calls the tests make around the client under test (creating an application
 * credential, revoking a token), by plain fetch so they do not depend on that client.
 */
export class KeystoneAdmin {
  private constructor(
    private readonly access: KeystoneAccess,
    private readonly adminToken: string,
    readonly userId: string,
    readonly projectId: string,
  ) {}

  static async login(access: KeystoneAccess): Promise<KeystoneAdmin> {
    const res = await fetch(`${access.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: {
                name: access.username,
                domain: { name: access.userDomainName },
                password: access.password,
              },
            },
          },
          scope: { project: { name: access.projectName, domain: { name: access.projectDomainName } } },
        },
      }),
    });
    if (res.status !== 201) throw new Error(`admin login failed: ${res.status}`);
    const body = (await res.json()) as { token: { user: { id: string }; project: { id: string } } };
    return new KeystoneAdmin(
      access,
      res.headers.get('x-subject-token') ?? '',
      body.token.user.id,
      body.token.project.id,
    );
  }

  /** A new application credential of the admin user (so with its admin role on its project). */
  async createApplicationCredential(name: string, secret: string): Promise<string> {
    const body = await this.call('POST', `/users/${this.userId}/application_credentials`, {
      application_credential: { name, secret },
    });
    return (body as { application_credential: { id: string } }).application_credential.id;
  }

  /** Revokes a token at once, as an operator would (or as key rotation effectively does). */
  async revokeToken(token: string): Promise<void> {
    const res = await fetch(`${this.access.authUrl}/auth/tokens`, {
      method: 'DELETE',
      headers: { 'X-Auth-Token': this.adminToken, 'X-Subject-Token': token },
    });
    if (res.status !== 204) throw new Error(`token revocation failed: ${res.status}`);
  }

  private async call(method: string, path: string, json: unknown): Promise<unknown> {
    const res = await fetch(`${this.access.authUrl}${path}`, {
      method,
      headers: { 'X-Auth-Token': this.adminToken, 'Content-Type': 'application/json' },
      body: JSON.stringify(json),
    });
    if (res.status >= 300) throw new Error(`${method} ${path} failed: ${res.status} ${await res.text()}`);
    return res.json();
  }
}
