import { expect } from 'chai';
import { inspect } from 'node:util';
import { CloudKittyClient } from '../../src/clients/openstack/cloudkitty-client.js';
import {
  KeystoneSession,
  type KeystoneSessionOptions,
} from '../../src/clients/openstack/keystone-session.js';
import { buildDataframes, postDataframes } from '../support/rated-usage-dataframes.js';
import {
  OpenStackAuthError,
  OpenStackRequestError,
  RatingEndpointNotFoundError,
} from '../../src/errors/index.js';
import { startCloudKitty, type CloudKittyInstance, type KeystoneAccess } from '../support/cloudkitty.js';
import { freePort } from '../support/wait.js';
import { KeystoneAdmin } from './keystone-admin.js';
import { OpenStackRequests } from '../support/openstack-requests.js';
import { capturedLog } from '../support/captured-log.js';

const HOUR = { begin: new Date('2024-06-01T00:00:00Z'), end: new Date('2024-06-01T01:00:00Z') };
const QUERY = { ...HOUR, groupby: ['project_id', 'type'], filters: { type: ['instance'] } } as const;
const APP_SECRET = 'app-cred-secret-9f3b1c';

function passwordSession(ks: KeystoneAccess, extra: Partial<KeystoneSessionOptions> = {}): KeystoneSession {
  return new KeystoneSession({
    authUrl: ks.authUrl,
    region: ks.region,
    credentials: {
      type: 'password',
      username: ks.username,
      userDomainName: ks.userDomainName,
      password: ks.password,
      projectName: ks.projectName,
      projectDomainName: ks.projectDomainName,
    },
    ...extra,
  });
}

describe('KeystoneSession + CloudKittyClient against a real Keystone 22 and CloudKitty 17', function () {
  this.timeout(90_000);
  let ck: CloudKittyInstance;
  let ks: KeystoneAccess;
  let admin: KeystoneAdmin;

  before(async function () {
    // Longer than the start script's own waits (60 s per server), so a slow start fails with its reason; and
    // than its whole run at load 20 (over 5 minutes once, with a 10,000-account bench beside the CI; 41 s alone).
    this.timeout(10 * 60_000);
    ck = await startCloudKitty({ auth: 'keystone' });
    ks = ck.keystone as KeystoneAccess;
    admin = await KeystoneAdmin.login(ks);
    await postDataframes(
      { session: passwordSession(ks) },
      buildDataframes([{ begin: HOUR.begin, projectId: 'acme', metric: 'instance', price: '0.05' }]),
    );
  });

  it('authenticates by user and project names, finds the rating endpoint, and reads the summary', async () => {
    const sent = new OpenStackRequests();
    const session = passwordSession(ks, { onRequest: sent.onRequest });
    expect(await session.ratingEndpoint()).to.equal(ck.url);
    const client = new CloudKittyClient({ session });
    const rows = await client.summary(QUERY);
    expect(rows.map((r) => [r.project_id, r.type, r.rate])).to.deep.equal([['acme', 'instance', '0.05']]);
    expect(sent.tokensIssued).to.equal(1);
  });

  it('authenticates by user and project ids', async () => {
    const session = new KeystoneSession({
      authUrl: ks.authUrl.replace(/\/v3$/, ''), // the /v3 is added when missing
      credentials: {
        type: 'password',
        userId: admin.userId,
        password: ks.password,
        projectId: admin.projectId,
      },
      interface: 'internal',
    });
    expect(await new CloudKittyClient({ session }).summary(QUERY)).to.have.length(1);
  });

  it('authenticates by application credential', async () => {
    const id = await admin.createApplicationCredential(`bridge-test-${Date.now()}`, APP_SECRET);
    const session = new KeystoneSession({
      authUrl: ks.authUrl,
      credentials: { type: 'application_credential', id, secret: APP_SECRET },
    });
    expect(await new CloudKittyClient({ session }).summary(QUERY)).to.have.length(1);
  });

  it('reuses its token, and renews it before it expires', async () => {
    let now = Date.now();
    const sent = new OpenStackRequests();
    const session = passwordSession(ks, {
      clock: () => now,
      renewBeforeExpiryMs: 5 * 60_000,
      onRequest: sent.onRequest,
    });
    const first = await session.token();
    now += 23 * 3_600_000; // the script's Keystone issues 24-hour tokens
    expect(await session.token()).to.equal(first);
    expect(sent.tokensIssued).to.equal(1);
    now += 56 * 60_000; // 4 minutes before expiry: inside the 5-minute margin
    expect(await session.token()).to.not.equal(first);
    expect(sent.tokensIssued).to.equal(2);
  });

  it('asks once for concurrent callers', async () => {
    const sent = new OpenStackRequests();
    const session = passwordSession(ks, { onRequest: sent.onRequest });
    const tokens = await Promise.all([session.token(), session.token(), session.ratingEndpoint()]);
    expect(tokens[0]).to.equal(tokens[1]);
    expect(sent.tokensIssued).to.equal(1);
  });

  it('renews a token CloudKitty rejects (401) once, and retries the call', async () => {
    const sent = new OpenStackRequests();
    const session = passwordSession(ks, { onRequest: sent.onRequest });
    await admin.revokeToken(await session.token());
    const toCloudKitty = new OpenStackRequests();
    const client = new CloudKittyClient({ session, onRequest: toCloudKitty.onRequest });
    expect(await client.summary(QUERY)).to.have.length(1);
    expect(sent.tokensIssued).to.equal(2);
    expect(toCloudKitty.count).to.equal(2);
  });

  it('gets 401 from CloudKitty without a token, as a typed auth error', async () => {
    const sent = new OpenStackRequests();
    const client = new CloudKittyClient({ url: ck.url, onRequest: sent.onRequest });
    let error: unknown;
    await client.summary(QUERY).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(OpenStackAuthError);
    expect((error as OpenStackAuthError).status).to.equal(401);
    expect((error as OpenStackAuthError).serverMessage).to.equal(
      'The request you have made requires authentication.',
    );
    expect(sent.count).to.equal(1);
  });

  it('reports wrong credentials as an auth error that carries no secret', async () => {
    const wrong = `wrong-${ks.password}`;
    const session = new KeystoneSession({
      authUrl: ks.authUrl,
      credentials: { type: 'password', username: ks.username, password: wrong, projectName: ks.projectName },
    });
    let error: unknown;
    await session.token().catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(OpenStackAuthError);
    expect((error as OpenStackAuthError).status).to.equal(401);
    expect((error as OpenStackAuthError).url).to.equal(`${ks.authUrl}/auth/tokens`);
    const shown = `${String(error)} ${JSON.stringify(error)} ${inspect(error)} ${inspect(session)}`;
    expect(shown).to.not.include(wrong);
    expect(shown).to.not.include(ks.password);
  });

  it('names what the catalog offers when no rating endpoint matches the region', async () => {
    const session = passwordSession(ks, { region: 'Atlantis' });
    let error: unknown;
    await session.ratingEndpoint().catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(RatingEndpointNotFoundError);
    expect((error as RatingEndpointNotFoundError).available).to.have.members([
      'public@RegionOne',
      'internal@RegionOne',
      'admin@RegionOne',
    ]);
  });

  it('keeps password, secret and token out of errors, logs and inspection when Keystone is unreachable', async () => {
    const { lines, logger } = capturedLog('debug');
    const down = `http://127.0.0.1:${await freePort()}/v3`;
    const withUserInfo = () =>
      new KeystoneSession({
        authUrl: down.replace('//', `//u:${APP_SECRET}@`),
        credentials: { type: 'password', userId: 'u', password: 'p', projectId: 'p' },
      });
    expect(withUserInfo).to.throw(TypeError, /^authUrl must not contain a user name or password$/);
    const sessions = [
      new KeystoneSession({
        authUrl: down,
        credentials: { type: 'application_credential', id: 'x', secret: APP_SECRET },
        attempts: 2,
        baseDelayMs: 1,
        logger,
      }),
      passwordSession(ks, { authUrl: down.replace('/v3', ''), attempts: 2, baseDelayMs: 1, logger }),
    ];
    const live = passwordSession(ks);
    const token = await live.token();
    for (const session of sessions) {
      let error: unknown;
      await new CloudKittyClient({ session }).summary(QUERY).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(OpenStackRequestError);
      expect((error as OpenStackRequestError).attempts).to.equal(2);
      const shown = `${String(error)} ${JSON.stringify(error)} ${inspect(error)} ${inspect(session)}`;
      for (const secret of [APP_SECRET, ks.password]) expect(shown).to.not.include(secret);
    }
    expect(lines).to.have.length(2); // one retry warning per session
    for (const secret of [APP_SECRET, ks.password, token]) expect(lines.join('')).to.not.include(secret);
    expect(inspect(live)).to.not.include(token);
  });
});
