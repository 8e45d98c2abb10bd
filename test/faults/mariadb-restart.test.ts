import { expect } from 'chai';
import { startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import type { ProxiedRequest } from '../support/fault-proxy.js';
import { startDedicatedKillBill, type KillBillServer } from '../support/killbill-server.js';
import { PrivateMariaDb } from '../support/private-mariadb.js';
import { waitFor } from '../support/wait.js';
import { FaultStack, USAGE_POSTS, syncDoc, type SyncDoc } from './fault-stack.js';

const ACCOUNTS = 3;
/** Records Kill Bill takes before its database goes: the run is well under way, every subscription has more. */
const PASSED = 10;
const isUsagePost = (r: { method: string; path: string }) =>
  r.method === 'POST' && r.path.startsWith(USAGE_POSTS.path);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * MariaDB, Kill Bill's database, SIGKILLed mid-sync and started again on the same datadir, under the REAL
 * Kill Bill 0.22.26 and CloudKitty, 3 accounts, both units, a day of hourly windows. The machine's MariaDB is
 * shared by every other test, so this suite runs its own (test/support/private-mariadb.ts) and a Kill Bill of
 * its own on it.
 *
 * What Kill Bill 0.22.26 does, found here and by hand (outages of 10 to 60 s): with its database gone, a call
 * that needs it waits for a connection from its Hikari pool and is answered 500 about 10.5 s later
 * (`UnableToObtainConnectionException`, "Connection is not available, request timed out after 10000ms"); it
 * hangs no longer than that and writes nothing. The pool recovers by itself, no Kill Bill restart: a call
 * waiting in it when MariaDB answers again is served 0.4-2 s later here (up to about 5 s, the cap of
 * Hikari's retry back-off, for a call that has waited longer), later calls at once. Its bus and notification
 * threads log a DBIException every 10 s meanwhile and carry on afterwards.
 *
 * The records are held at the proxy, not timed: the kill comes once every subscription has its next record at
 * Kill Bill's door, and MariaDB comes back once Kill Bill has answered the one record let in without it.
 */
describe('faults: MariaDB under Kill Bill restarted mid-sync (private MariaDB, dedicated Kill Bill)', function () {
  let db: PrivateMariaDb;
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  let stack: FaultStack;
  let door: ReturnType<typeof holdAfter> | undefined;
  const cleanups: Array<() => Promise<void>> = [];

  before(async function () {
    this.timeout(5 * 60_000);
    db = await PrivateMariaDb.start();
    [server, cloudkitty] = await Promise.all([
      startDedicatedKillBill({ KILLBILL_DB_HOST: '127.0.0.1', KILLBILL_DB_PORT: String(db.port) }),
      startCloudKitty(),
    ]);
    stack = await FaultStack.start(server, cloudkitty, cleanups);
    await stack.waitMetered(await stack.addCustomers(ACCOUNTS));
    await stack.seedDay(15, 4);
  });

  after(async function () {
    this.timeout(120_000);
    door?.openAll(); // a failed test leaves no record held at the proxy
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
    // Kill Bill first (it drops its database on the way out), then its database server and datadir.
    await server?.stop().catch(() => {});
    await db?.close();
  });

  it('MariaDB SIGKILLed with records in flight, back on the same datadir: Kill Bill’s 500s are retried, each window once', async function () {
    this.timeout(3 * 60_000);
    door = holdAfter(stack, PASSED);
    // The proxy holds records for seconds while Kill Bill's 10 s pool timeout plays out; the bridge's own
    // timeout is not what this tests (test/faults/outages.test.ts does), so it stays out of the way.
    const env = { KILLBILL_TIMEOUT: '60s' };
    const run1 = stack.sync(env);
    await waitFor(
      `Kill Bill took ${PASSED} records and every subscription has its next one at its door`,
      () => door!.held.length === ACCOUNTS && door!.passed.every((r) => r.outcome === 201),
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    const t = await restartUnderKillBill(db, door);
    expect(t.x.outcome, 'Kill Bill’s answer without its database').to.equal(500);
    expect(
      t.rest.map((r) => r.outcome),
      'records waiting in Kill Bill’s pool when MariaDB came back',
    ).to.deep.equal(t.rest.map(() => 201));
    door.openAll();

    const first = await run1;
    const d1 = syncDoc(first);
    expect(first.code, 'the run with a Kill Bill 500 exits non-zero').to.equal(1);
    const failed = d1.results.filter((r) => r.error);
    expect(failed, 'only the subscription Kill Bill answered 500').to.have.length(1);
    // 500 `UnableToObtainConnectionException` after the pool's 10 s, or at once when the pool hands out a
    // connection MariaDB's death has cut ("Communications link failure").
    expect(failed[0]!.error).to.match(/record usage failed: 500 /);
    const second = await stack.sync(env);
    expect(second.code, second.stderr.slice(-1500)).to.equal(0);
    const d2 = syncDoc(second);
    const figures = await verify(stack, db, server, [d1, d2], t.x);
    console.log(
      `      [KB ${server.version}, private MariaDB] ${ACCOUNTS} accounts, ${stack.expectedRecords} windows: ` +
        `MariaDB SIGKILLed after ${PASSED} records taken, ${ACCOUNTS} at Kill Bill's door; Kill Bill answered 500 ` +
        `${secs(t.answeredIn)} after to the record sent without its database (${why(failed[0]!.error!)}); ` +
        `MariaDB back in ${secs(t.startIn)} (${secs(t.downFor)} down), the ${t.rest.length} records sent into ` +
        `Kill Bill meanwhile taken ${secs(t.servedIn)} after it answered | run 1 exit 1: ` +
        `${d1.totals.records} sent, ${d1.totals.failed} failed (500); run 2 exit 0: ${d2.totals.records} sent, ` +
        `${d2.totals.alreadyRecorded} already recorded, the record answered 500 among them, unchanged | ${figures}`,
    );
  });
});

/**
 * With every subscription's next record held at the proxy: SIGKILLs MariaDB, lets ONE record into Kill Bill
 * and waits for Kill Bill's answer, then lets the others in while MariaDB is still down and starts it again
 * on the same datadir, and waits for Kill Bill's answers to them. Returns those records and the timings.
 */
async function restartUnderKillBill(db: PrivateMariaDb, door: ReturnType<typeof holdAfter>) {
  const [x, ...rest] = door.held as [ProxiedRequest, ...ProxiedRequest[]];
  await db.kill('SIGKILL');
  const killedAt = Date.now();
  door.release(x);
  await waitFor('Kill Bill answered the record sent without its database', () => x.outcome !== 'hang', {
    timeoutMs: 60_000,
    intervalMs: 50,
  });
  const answeredIn = Date.now() - killedAt;
  for (const r of rest) door.release(r);
  const restartAt = Date.now();
  await db.resume();
  const upAt = Date.now();
  await waitFor(
    'Kill Bill answered the records in flight across the restart',
    () => rest.every((r) => r.outcome !== 'hang'),
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  const servedIn = Date.now() - upAt;
  return { x, rest, answeredIn, startIn: upAt - restartAt, downFor: upAt - killedAt, servedIn };
}

/**
 * Usage POSTs through the Kill Bill fault proxy: the first `passed` go on, every later one is held at the
 * proxy until released one by one or all at once.
 */
function holdAfter(stack: FaultStack, passed: number) {
  const waiting = new Map<ProxiedRequest, () => void>();
  const door = {
    passed: [] as ProxiedRequest[],
    held: [] as ProxiedRequest[],
    open: false,
    release(req: ProxiedRequest) {
      waiting.get(req)?.();
    },
    openAll() {
      door.open = true;
      for (const go of waiting.values()) go();
    },
  };
  stack.kbProxy.beforeForward = async (req) => {
    if (!isUsagePost(req) || door.open) return;
    if (door.passed.length < passed) {
      door.passed.push(req);
      return;
    }
    door.held.push(req);
    await new Promise<void>((go) => waiting.set(req, go));
  };
  return door;
}

/** Kill Bill's reason, from the bridge's error: its exception's class, or the start of its message. */
function why(error: string): string {
  return (/(\w+Exception)/.exec(error)?.[1] ?? error.replace(/^.*?500 /, '')).slice(0, 80);
}

function trackingId(req: ProxiedRequest): string {
  return (JSON.parse(req.body) as { trackingId: string }).trackingId;
}

/**
 * Each window once, seen three ways: the proxy (each tracking id taken once, the runs' summaries adding up to
 * it), Kill Bill's own table in the private MariaDB (one row per tracking id, unit and date), and `bridge
 * reconcile` (Kill Bill's usage equal to CloudKitty's total, difference 0.00). Returns a line of figures.
 */
async function verify(
  stack: FaultStack,
  db: PrivateMariaDb,
  server: KillBillServer,
  runs: SyncDoc[],
  x: ProxiedRequest,
): Promise<string> {
  const posts = stack.postOutcomes();
  const sent = runs.reduce((s, d) => s + d.totals.records, 0);
  const already = runs.reduce((s, d) => s + d.totals.alreadyRecorded, 0);
  expect(new Set(posts.trackingIds).size, 'tracking ids Kill Bill took, each once').to.equal(
    posts.trackingIds.length,
  );
  expect(posts.created, 'records Kill Bill took').to.equal(stack.expectedRecords);
  expect(sent + already, 'the runs’ summaries: records sent + already recorded').to.equal(posts.created);
  expect(already, 'the runs’ summaries: already recorded').to.equal(posts.already);
  // The record Kill Bill answered 500 went to the ledger as pending: the next run sent it again, unchanged.
  const resent = stack.kbProxy.seen(USAGE_POSTS).filter((p) => p !== x && trackingId(p) === trackingId(x));
  expect(resent.map((p) => [p.outcome, p.body])).to.deep.equal([[201, x.body]]);

  const [ids, rows, distinct] = (
    await db.query(
      `SELECT COUNT(DISTINCT u.tracking_id), COUNT(*), COUNT(DISTINCT u.tracking_id, u.unit_type, u.record_date) ` +
        `FROM \`${server.database}\`.rolled_up_usage u JOIN \`${server.database}\`.tenants t ` +
        `ON t.record_id = u.tenant_record_id WHERE t.api_key = '${stack.tenant.apiKey}'`,
    )
  )[0]!.map(Number);
  expect(ids, 'tracking ids in Kill Bill’s rolled_up_usage').to.equal(stack.expectedRecords);
  expect(rows, 'rows in Kill Bill’s rolled_up_usage, none twice').to.equal(distinct);
  const figures = await stack.assertReconciled();
  return (
    `Kill Bill took ${posts.created}×201, ${posts.already}×"already recorded", ${posts.faulted} faulted; ` +
    `summaries ${sent} sent + ${already} already recorded; its database holds ${ids} tracking ids in ${rows} rows, ` +
    `none twice | ${figures}`
  );
}
