import {
  baseUrl,
  OpenStackHttp,
  type OpenStackHttpOptions,
  type OpenStackHttpRequest,
} from './openstack-http.js';
import {
  CatalogEndpointNotFoundError,
  OpenStackRequestError,
  RatingEndpointNotFoundError,
} from '../../errors/index.js';

/**
 * Password authentication, project-scoped (an unscoped token has no catalog). Give the user by id,
 * or by name plus domain; the project likewise. A name without a domain means the domain named `Default`.
 */
export interface KeystonePasswordCredentials {
  type: 'password';
  password: string;
  userId?: string;
  username?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectId?: string;
  projectName?: string;
  projectDomainName?: string;
  projectDomainId?: string;
}

/** An application credential: already scoped to its project; the usual choice for a service. */
export interface KeystoneApplicationCredential {
  type: 'application_credential';
  id: string;
  secret: string;
}

export type KeystoneCredentials = KeystonePasswordCredentials | KeystoneApplicationCredential;

export type EndpointInterface = 'public' | 'internal' | 'admin';

export interface KeystoneSessionOptions extends OpenStackHttpOptions {
  /** Keystone v3 URL, e.g. `https://keystone.example.org:5000/v3`; `/v3` is added when missing. */
  authUrl: string;
  credentials: KeystoneCredentials;
  /** Region of the rating (and orchestration) endpoint. Default: the first region the catalog lists. */
  region?: string;
  /** Which interface of a service's endpoints to use. Default `public`. */
  interface?: EndpointInterface;
  /** A token this close to its expiry is replaced before use. Default 300 000 ms (5 minutes). */
  renewBeforeExpiryMs?: number;
  /** Milliseconds since the epoch; tests move it to make tokens age. Default `Date.now`. */
  clock?: () => number;
}

interface CatalogEndpoint {
  interface?: string;
  region_id?: string;
  region?: string;
  url?: string;
}

interface CatalogService {
  type?: string;
  endpoints?: CatalogEndpoint[];
}

interface IssuedToken {
  value: string;
  expiresAt: number;
  catalog: CatalogService[];
}

/**
 * A Keystone v3 token for one identity, cached and renewed before it expires, and the endpoints (CloudKitty's
 * `rating`, Heat's `orchestration`) from that token's service catalog.
 */
export class KeystoneSession {
  private readonly tokensUrl: URL;
  // Private fields (#) keep the credentials and the token out of util.inspect, JSON and logs.
  readonly #credentials: KeystoneCredentials;
  #current: IssuedToken | undefined;
  #pending: Promise<IssuedToken> | undefined;
  private readonly region: string | undefined;
  private readonly endpointInterface: EndpointInterface;
  private readonly renewBeforeExpiryMs: number;
  private readonly clock: () => number;
  private readonly http: OpenStackHttp;

  constructor(options: KeystoneSessionOptions) {
    const base = baseUrl(options.authUrl, 'authUrl');
    this.tokensUrl = new URL(`${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`);
    this.#credentials = checkCredentials(options.credentials);
    this.region = options.region;
    this.endpointInterface = options.interface ?? 'public';
    this.renewBeforeExpiryMs = options.renewBeforeExpiryMs ?? 300_000;
    this.clock = options.clock ?? Date.now;
    this.http = new OpenStackHttp(options);
  }

  /** A valid token, from the cache unless it is missing, about to expire, or invalidated. */
  async token(): Promise<string> {
    return (await this.currentToken()).value;
  }

  /** The rating endpoint's base URL (no `/v2` suffix, no trailing slash), from the current token's catalog. */
  async ratingEndpoint(): Promise<string> {
    return this.endpoint('rating');
  }

  /**
   * The URL of a service type's endpoint (no trailing slash) for the configured interface and region, from
   * the current token's catalog: `rating` (CloudKitty), `orchestration` (Heat).
   */
  async endpoint(serviceType: string): Promise<string> {
    const { catalog } = await this.currentToken();
    const endpoints = catalog.filter((s) => s.type === serviceType).flatMap((s) => s.endpoints ?? []);
    const match = endpoints.find(
      (e) =>
        e.interface === this.endpointInterface &&
        typeof e.url === 'string' &&
        (this.region === undefined || (e.region_id ?? e.region) === this.region),
    );
    if (!match?.url) {
      const available = endpoints.map((e) => `${e.interface}@${e.region_id ?? e.region ?? '?'}`);
      const wanted = { interface: this.endpointInterface, region: this.region };
      throw serviceType === 'rating'
        ? new RatingEndpointNotFoundError(wanted, available)
        : new CatalogEndpointNotFoundError(serviceType, wanted, available);
    }
    return match.url.replace(/\/+$/, '');
  }

  /** Forgets the cached token, e.g. after a service answered 401 to it. */
  invalidate(): void {
    this.#current = undefined;
  }

  private async currentToken(): Promise<IssuedToken> {
    const current = this.#current;
    if (current && this.clock() < current.expiresAt - this.renewBeforeExpiryMs) return current;
    // Concurrent callers share one token request instead of each asking Keystone.
    this.#pending ??= this.issueToken().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  private async issueToken(): Promise<IssuedToken> {
    const request: OpenStackHttpRequest = {
      method: 'POST',
      url: this.tokensUrl,
      json: { auth: authBody(this.#credentials) },
    };
    const response = await this.http.send(request);
    if (response.status !== 201 && response.status !== 200) throw OpenStackHttp.errorFor(request, response);
    const value = response.headers.get('x-subject-token');
    const token = (response.body as { token?: { expires_at?: unknown; catalog?: unknown } } | undefined)
      ?.token;
    const expiresAt = typeof token?.expires_at === 'string' ? Date.parse(token.expires_at) : NaN;
    if (!value || !token || Number.isNaN(expiresAt)) {
      throw new OpenStackRequestError({
        method: request.method,
        url: this.tokensUrl.href,
        status: response.status,
        serverMessage: 'the response has no X-Subject-Token header or no token.expires_at',
        attempts: response.attempts,
      });
    }
    const issued = { value, expiresAt, catalog: Array.isArray(token.catalog) ? token.catalog : [] };
    this.#current = issued;
    return issued;
  }
}

function checkCredentials(credentials: KeystoneCredentials): KeystoneCredentials {
  if (credentials.type === 'application_credential') {
    if (!credentials.id || !credentials.secret)
      throw new TypeError('an application credential needs id and secret');
    return { ...credentials };
  }
  if (!credentials.password) throw new TypeError('password authentication needs a password');
  if (!credentials.userId && !credentials.username)
    throw new TypeError('password authentication needs userId or username');
  if (!credentials.projectId && !credentials.projectName) {
    throw new TypeError(
      'password authentication needs projectId or projectName (a scoped token carries the catalog)',
    );
  }
  return { ...credentials };
}

function domain(id: string | undefined, name: string | undefined): { id: string } | { name: string } {
  return id ? { id } : { name: name ?? 'Default' };
}

function authBody(c: KeystoneCredentials): unknown {
  if (c.type === 'application_credential') {
    return {
      identity: {
        methods: ['application_credential'],
        application_credential: { id: c.id, secret: c.secret },
      },
    };
  }
  const user = c.userId
    ? { id: c.userId, password: c.password }
    : { name: c.username, domain: domain(c.userDomainId, c.userDomainName), password: c.password };
  const project = c.projectId
    ? { id: c.projectId }
    : { name: c.projectName, domain: domain(c.projectDomainId, c.projectDomainName) };
  return { identity: { methods: ['password'], password: { user } }, scope: { project } };
}
