import { expect } from 'chai';
import { startCloudKitty, type CloudKittyInstance } from '../support/cloudkitty.js';
import { startKillBill, type KillBillServer } from '../support/killbill-server.js';
import { FaultStack, USAGE_POSTS, syncDoc, type SyncDoc } from './fault-stack.js';

const PAGE = 25;
const SUMMARY = { method: 'GET', path: '/v2/summary' };

/**
 * CloudKitty and Kill Bill failing under `bridge sync` (subprocesses), against the REAL Kill Bill and CloudKitty
 * behind fault proxies; 3 accounts, both units, a day of hourly windows. First CloudKitty: down during the pull,
 * then 500 on a later request of a pull made in several: the run fails and Kill Bill is sent nothing (no partial window).
 * Then Kill Bill: 500s, then hung calls (the bridge's timeout ends them), then down, then back: every window
 * recorded exactly once, and the runs' summaries add up to what Kill Bill took.
 */
describe('faults: CloudKitty and Kill Bill outages under bridge sync (real Kill Bill)', function () {
  let server: KillBillServer;
  let cloudkitty: CloudKittyInstance;
  let stack: FaultStack;
  const cleanups: Array<() => Promise<void>> = [];
  const runs: SyncDoc[] = [];

  before(async function () {
    this.timeout(10 * 60_000);
    [server, cloudkitty] = await Promise.all([startKillBill(), startCloudKitty()]);
    stack = await FaultStack.start(server, cloudkitty, cleanups);
    await stack.waitMetered(await stack.addCustomers(3));
    await stack.seedDay(11, 7);
  });

  after(async function () {
    this.timeout(120_000);
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  });

  it('CloudKitty down during the pull, then 500 on a later request of the pull: the run fails, Kill Bill is sent nothing', async function () {
    this.timeout(3 * 60_000);
    const env = { CLOUDKITTY_PAGE_SIZE: String(PAGE) };
    await stack.ckProxy.down();
    const down = await stack.sync(env);
    await stack.ckProxy.up();
    expect(down.code, down.stdout).to.not.equal(0);
    expect(down.stderr).to.match(/cloudkitty/i);

    // The pull asks CloudKitty for rows by time in several requests (time chunks of a page each): the
    // first is served, every later one (retries included) answers 500.
    const byTime = { method: 'GET', path: /^\/v2\/summary\?.*groupby=time/ };
    let timeRequests = 0;
    stack.ckProxy.beforeForward = async (req) => {
      if (req.method === 'GET' && byTime.path.test(req.path) && ++timeRequests === 2)
        stack.ckProxy.failAll({ kind: 'status', status: 500 }, byTime);
    };
    const paged = await stack.sync(env);
    stack.ckProxy.heal();
    expect(paged.code, paged.stdout).to.not.equal(0);
    const summaries = stack.ckProxy.seen(SUMMARY);
    const pages500 = summaries.filter((r) => r.outcome === 500);
    expect(pages500.length, 'the proxy answered 500 to a later request of the pull').to.be.greaterThan(0);
    expect(pages500.every((r) => byTime.path.test(r.path))).to.equal(true);
    expect(
      summaries.filter((r) => r.outcome === 200 && byTime.path.test(r.path)).length,
      'the first request of the pull was served',
    ).to.be.greaterThan(0);
    expect(stack.kbProxy.seen(USAGE_POSTS), 'usage POSTs after failed pulls').to.deep.equal([]);
    console.log(
      `      CloudKitty down: exit ${down.code}; later requests of the pull answered 500 ×${pages500.length}: ` +
        `exit ${paged.code}; ${summaries.length} summary requests, 0 usage records sent to Kill Bill`,
    );
  });

  it('Kill Bill 500s, then hung, then down, then back: every window recorded once; the runs add up to what Kill Bill took', async function () {
    this.timeout(4 * 60_000);
    // A short timeout only where Kill Bill hangs: elsewhere a loaded machine's slow answers are not what is tested.
    const short = { KILLBILL_TIMEOUT: '3s' };
    const kb = stack.kbProxy;
    const phases: string[] = [];
    const run = async (what: string, env: Record<string, string> = {}) => {
      const r = await stack.sync(env);
      const doc = syncDoc(r);
      runs.push(doc);
      phases.push(`${what}: exit ${r.code}, ${doc.totals.records} sent, ${doc.totals.failed} failed`);
      return { code: r.code, doc, stderr: r.stderr };
    };

    kb.failNext(6, { kind: 'status', status: 500 }, USAGE_POSTS);
    const r500 = await run('500s');
    expect(r500.code).to.equal(1);
    expect(kb.seen(USAGE_POSTS).filter((p) => p.outcome === 500)).to.have.length.greaterThan(0);

    kb.heal();
    kb.failAll({ kind: 'hang' }, USAGE_POSTS);
    const hung = await run('hung', short);
    expect(hung.code).to.equal(1);
    const hungErrors = hung.doc.results.map((r) => r.error ?? '');
    expect(
      hungErrors.filter((e) => /no answer \(ECONNABORTED\)/.test(e)),
      hungErrors.join(' | '),
    ).to.have.length.greaterThan(0);

    kb.heal();
    await kb.down();
    const down = await run('down');
    await kb.up();
    expect(down.code).to.equal(1);
    expect(down.doc.totals.records).to.equal(0);
    expect(down.doc.totals.failed).to.equal(stack.customers.length);

    let back = await run('back');
    for (let i = 0; back.code !== 0 && i < 3; i++) back = await run('again');
    expect(back.code, JSON.stringify(back.doc.results.filter((r) => r.error))).to.equal(0);

    const posts = stack.postOutcomes();
    const sent = runs.reduce((s, d) => s + d.totals.records, 0);
    const already = runs.reduce((s, d) => s + d.totals.alreadyRecorded, 0);
    expect(new Set(posts.trackingIds).size, 'tracking ids Kill Bill took, each once').to.equal(
      posts.trackingIds.length,
    );
    expect(posts.created, 'records Kill Bill took').to.equal(stack.expectedRecords);
    // A record Kill Bill took after the bridge's timeout gave up on it is resent and answered "already
    // recorded": the summaries count it there, once.
    expect(sent + already, 'the runs’ summaries: records sent + already recorded').to.equal(posts.created);
    expect(already, 'the runs’ summaries: already recorded').to.equal(posts.already);
    const figures = await stack.assertReconciled();
    console.log(
      `      [KB ${server.version}] ${stack.customers.length} accounts, ${phases.join('; ')} | ` +
        `${kb.seen(USAGE_POSTS).length} usage POSTs: ${posts.created}×201 (windows ${stack.expectedRecords}), ` +
        `${posts.already} already recorded (answer lost to the timeout), ${posts.faulted} faulted (500/hang/refused); summaries: ${sent} sent + ${already} already recorded | ${figures}`,
    );
  });
});
