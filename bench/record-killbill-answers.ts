import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { seedRatedUsage, seededCloudKittyEnv, startCloudKitty } from '../test/support/cloudkitty.js';
import {
  dayOf,
  HOUR,
  killBillForBridge,
  MeteredTenant,
  newProjectId,
} from '../test/support/metered-tenant.js';
import { startKillBill } from '../test/support/killbill-server.js';
import { RedisServer } from '../test/support/redis-server.js';
import { stopSharedServers } from '../test/support/root-hooks.js';
import { UUID } from './recorded-answers.js';
import { buildBridge, measuredBridge, ratedHours } from './sync.js';

/**
 * Records what the real Kill Bill answers to every call `bridge registry sync` and `bridge sync` make, for a
 * tenant set up exactly as bench/sync.ts sets it up (two metered accounts), into bench/killbill-answers/:
 * the answers bench/recorded-killbill.ts serves for N accounts. Run once; its output is committed.
 * `npx tsx bench/record-killbill-answers.ts`
 */
const OUT = fileURLToPath(new URL('./killbill-answers/', import.meta.url));

/** One call and Kill Bill's answer, as the bridge saw it. */
export interface RecordedExchange {
  method: string;
  path: string;
  /** The request body, parsed (usage records); null when there was none. */
  requestBody: unknown;
  status: number;
  /** Only the headers a client reads: the content type and Kill Bill's own (pagination, Location). */
  headers: Record<string, string>;
  /** Parsed JSON; the raw text when it is not JSON; null when empty. */
  body: unknown;
}

const parsed = (text: string): unknown => {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

const kept = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers)
      .filter(([k]) => k === 'content-type' || k === 'location' || k.startsWith('x-killbill-'))
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
  );

/** A pass-through proxy in front of Kill Bill that keeps every exchange, answers included. */
async function recordingProxy(target: string, exchanges: RecordedExchange[]): Promise<Server> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const sent = Buffer.concat(chunks);
      const headers = { ...req.headers, host: upstream.host };
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          const got: Buffer[] = [];
          answer.on('data', (c: Buffer) => got.push(c));
          answer.on('end', () => {
            const body = Buffer.concat(got);
            exchanges.push({
              method: req.method ?? 'GET',
              path: req.url ?? '/',
              requestBody: parsed(sent.toString('utf8')),
              status: answer.statusCode ?? 0,
              headers: kept(answer.headers),
              body: parsed(body.toString('utf8')),
            });
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(body);
          });
        },
      );
      out.once('error', () => res.destroy());
      out.end(sent);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const urlOf = (server: Server) => {
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the recording proxy has no port');
  return `http://127.0.0.1:${address.port}`;
};

/** A call of the bridge's kind made by hand: answers the bridge's own runs did not meet. */
async function ask(url: string, tenant: MeteredTenant, method: string, path: string, body?: unknown) {
  const auth = Buffer.from(`${tenant.tenant.username}:${tenant.tenant.password}`).toString('base64');
  await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Basic ${auth}`,
      'x-killbill-apikey': tenant.tenant.apiKey,
      'x-killbill-apisecret': tenant.tenant.apiSecret,
      'x-killbill-createdby': 'record-killbill-answers',
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((r) => r.arrayBuffer());
}

/** A file name for each kind of call: its method and path, ids and query left out. */
function routeOf(method: string, path: string): string {
  const bare = path.split('?')[0]!.replace(UUID, 'ID');
  return `${method} ${bare}`;
}

/** The tenant as bench/sync.ts makes it, the bridge's own runs over it, then the answers it did not meet. */
async function record(kbUrl: string, tenant: MeteredTenant, exchanges: RecordedExchange[]) {
  const [ck, redis] = await Promise.all([startCloudKitty(), RedisServer.start()]);
  const proxy = await recordingProxy(kbUrl, exchanges);
  const url = urlOf(proxy);
  try {
    const top = Math.floor(Date.now() / HOUR) * HOUR;
    const [first, second] = [new Date(top - 6 * HOUR), new Date(top - 5 * HOUR)];
    const startDay = dayOf(first.getTime() - 24 * HOUR);
    const projects = [newProjectId(), newProjectId()];
    const accounts = [];
    for (const [i, p] of projects.entries())
      accounts.push(await tenant.meteredAccount(`bench${i}`, p, startDay, 'instance,vcpus'));
    await seedRatedUsage(ck.url, ratedHours(projects, first, second).usage);
    const env = {
      ...tenant.env(),
      KILLBILL_URL: url,
      REDIS_URL: redis.url,
      ...seededCloudKittyEnv(ck.url),
      BRIDGE_SETTLE_DELAY: `${Math.floor((Date.now() - top + 5 * HOUR) / 1000)}s`,
    };
    for (const args of [
      ['registry', 'sync'],
      ['sync', '--json'],
    ]) {
      const run = await measuredBridge(args, env);
      if (run.code !== 0) throw new Error(`bridge ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    }
    // A page that is not the last (its next offset and page URI), and Kill Bill's answers to a record it
    // already holds and to an unknown subscription: the sync met none of them.
    for (const listing of ['/1.0/kb/accounts', '/1.0/kb/bundles', '/1.0/kb/customFields'])
      await ask(url, tenant, 'GET', `${listing}/pagination?offset=0&limit=1`);
    const posted = exchanges.find((e) => e.method === 'POST' && e.path.startsWith('/1.0/kb/usages'));
    if (!posted) throw new Error('the sync recorded no usage');
    await ask(url, tenant, 'POST', '/1.0/kb/usages', posted.requestBody);
    const unknown = {
      ...(posted.requestBody as object),
      subscriptionId: '00000000-0000-4000-8000-000000000000',
    };
    await ask(url, tenant, 'POST', '/1.0/kb/usages', unknown);
    return { startDay, first: first.toISOString(), accounts };
  } finally {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await redis.close();
  }
}

/** As the project's formatter writes JSON, so that its check passes on what is committed. */
async function written(path: string, value: unknown): Promise<void> {
  const options = { ...(await prettier.resolveConfig(path)), filepath: path };
  writeFileSync(path, await prettier.format(JSON.stringify(value, null, 2), options));
}

async function main(): Promise<void> {
  buildBridge();
  const [kb, tenant] = await Promise.all([killBillForBridge(), MeteredTenant.create()]);
  const exchanges: RecordedExchange[] = [];
  try {
    const setUp = await record(kb.url, tenant, exchanges);
    const { version } = await startKillBill();
    mkdirSync(OUT, { recursive: true });
    const byRoute = new Map<string, RecordedExchange[]>();
    for (const e of exchanges) {
      const route = routeOf(e.method, e.path);
      byRoute.set(route, [...(byRoute.get(route) ?? []), e]);
    }
    const files: Record<string, string> = {};
    for (const [route, list] of byRoute) {
      const file = `${route.replace(/^(\w+) \/1\.0\/kb\//, '$1-').replace(/\W+/g, '-')}.json`.toLowerCase();
      files[route] = file;
      await written(join(OUT, file), list);
    }
    const index = {
      recordedAt: new Date().toISOString(),
      killBillVersion: version,
      setUp,
      calls: exchanges.map((e) => `${e.method} ${e.path} -> ${e.status}`),
      files,
    };
    await written(join(OUT, 'index.json'), index);
    console.log(`recorded ${exchanges.length} answers of Kill Bill ${index.killBillVersion} in ${OUT}`);
    for (const c of index.calls) console.log(`  ${c}`);
  } finally {
    await kb.close();
    await stopSharedServers();
  }
}

await main();
