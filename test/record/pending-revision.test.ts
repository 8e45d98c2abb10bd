import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { accountCredits } from '../../src/clients/killbill/account-credits.js';
import { KillBillClient } from '../../src/clients/killbill/killbill-client.js';
import { capturedLog } from '../support/captured-log.js';
import type { RecordContext } from '../../src/record/credits.js';
import { sendPending, type PendingSend } from '../../src/record/pending-revision.js';
import type { CreditedUsage, RecordedUsage } from '../../src/record/record-observer.js';
import type { LedgerWindow } from '../../src/record/usage-ledger.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { dayOf, HOUR, killBillForBridge, MeteredTenant, newProjectId } from '../support/metered-tenant.js';

const UNIT = 'openstack-billed-instance';

/**
 * The record stage on its own, against the REAL Kill Bill: a pending revision is sent (its usage record,
 * then its credits), confirmed, and only then told to the observers; sent again after a lost answer it is
 * neither recorded nor credited twice.
 */
describe('record stage: sending a pending revision (real Kill Bill)', function () {
  this.timeout(120_000);
  let proxy: FaultProxy;
  let tenant: MeteredTenant;
  let ctx: RecordContext;
  let accountId: string;
  let subscriptionId: string;
  const recorded: RecordedUsage[] = [];
  const credited: CreditedUsage[] = [];
  const log = capturedLog('info');
  const lines = () => log.entries();
  const windowStart = new Date(Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR);
  const start = windowStart.toISOString();
  const end = new Date(windowStart.getTime() + HOUR).toISOString();
  const trackingId = `record-stage-${randomUUID()}`;
  const window: LedgerWindow = { end, rates: { [UNIT]: '2.5' }, cents: {}, lastRevision: null };

  before(async function () {
    this.timeout(10 * 60_000); // a cold Kill Bill takes 30 s and more under load
    proxy = await killBillForBridge();
    tenant = await MeteredTenant.create();
    ({ accountId, subscriptionId } = await tenant.meteredAccount(
      'record-stage',
      newProjectId(),
      dayOf(windowStart.getTime() - 2 * 24 * HOUR),
    ));
    ctx = {
      kb: new KillBillClient({ ...tenant.tenant, url: proxy.url, createdBy: 'record-stage-test' }),
      entry: { tenantApiKey: tenant.apiKey, accountId, subscriptionId },
      logger: log.logger,
      observer: { recorded: (u) => recorded.push(u), credited: (c) => credited.push(c) },
    };
  });

  after(async () => {
    await proxy?.close();
  });

  beforeEach(() => {
    recorded.length = 0;
    credited.length = 0;
    log.lines.length = 0;
  });

  const firstRevision = (): PendingSend => ({
    start,
    window,
    resumed: false,
    pending: {
      revision: 0,
      cents: { [UNIT]: 250 },
      record: {
        subscriptionId,
        trackingId,
        unitUsageRecords: [
          {
            unitType: UNIT,
            usageRecords: [{ recordDate: new Date(windowStart.getTime() + 1000).toISOString(), amount: 250 }],
          },
        ],
      },
    },
  });
  const events = () => lines().map((l) => l.event);
  const ourCredits = async (description: string) =>
    (await accountCredits(ctx.kb).list(accountId)).filter((c) => c.description === description);

  it('records the usage, confirms the window with its cents folded in, then tells the observer', async () => {
    const confirms: Array<[string, LedgerWindow]> = [];
    const confirmed = await sendPending(ctx, firstRevision(), async (s, w) => {
      expect(recorded, 'the observer is told only after the confirm').to.have.length(0);
      confirms.push([s, w]);
    });
    expect(confirmed).to.deep.equal({
      end,
      rates: { [UNIT]: '2.5' },
      cents: { [UNIT]: 250 },
      lastRevision: 0,
    });
    expect(confirms).to.deep.equal([[start, confirmed]]);
    expect(recorded).to.deep.equal([
      { tenant: tenant.apiKey, cents: { [UNIT]: 250 }, correction: false, outcome: 'recorded' },
    ]);
    expect(events()).to.deep.equal(['sync.usage_recorded']);
    expect(await tenant.recordedCents(subscriptionId, dayOf(windowStart.getTime()))).to.equal(250);
  });

  it('sent again after a lost answer, Kill Bill already holds it: confirmed, not recorded twice', async () => {
    const confirmed = await sendPending(ctx, { ...firstRevision(), resumed: true }, async () => {});
    expect(confirmed.cents).to.deep.equal({ [UNIT]: 250 });
    expect(recorded.map((r) => r.outcome)).to.deep.equal(['already-recorded']);
    expect(events()).to.deep.equal(['sync.usage_already_recorded']);
    expect(await tenant.recordedCents(subscriptionId, dayOf(windowStart.getTime()))).to.equal(250);
  });

  it('tells no observer when the confirm fails (the lock is no longer this run’s)', async () => {
    const lost = new Error('the lock is no longer this run’s');
    const err = await sendPending(ctx, firstRevision(), () => Promise.reject(lost)).catch((e: unknown) => e);
    expect(err).to.equal(lost);
    expect(recorded).to.deep.equal([]);
    expect(events()).to.deep.equal([]);
  });

  const credit = (description: string, cents: number, resumed: boolean): PendingSend => ({
    start,
    window: { ...window, cents: { [UNIT]: 250 }, lastRevision: 0 },
    resumed,
    pending: {
      revision: 1,
      cents: { [UNIT]: -cents },
      record: null,
      credits: [{ unitType: UNIT, cents, description }],
    },
  });

  it('gives a credit-only revision as an account credit and keeps its item id in the window', async () => {
    const description = `record-stage credit ${randomUUID()}`;
    const confirmed = await sendPending(ctx, credit(description, 100, false), async () => {});
    const [held] = await ourCredits(description);
    expect(held?.cents).to.equal(100);
    expect(confirmed).to.deep.equal({
      end,
      rates: { [UNIT]: '2.5' },
      cents: { [UNIT]: 150 },
      lastRevision: 1,
      credits: [{ revision: 1, unitType: UNIT, cents: 100, description, invoiceItemId: held!.invoiceItemId }],
    });
    expect(recorded, 'no usage record in a credit-only revision').to.deep.equal([]);
    expect(credited).to.deep.equal([
      { tenant: tenant.apiKey, unitType: UNIT, cents: 100, outcome: 'credited' },
    ]);
    expect(events()).to.deep.equal(['sync.credit_given']);

    // Resumed after a lost answer: found by its description, confirmed, not given again.
    const again = await sendPending(ctx, credit(description, 100, true), async () => {});
    expect(again.credits?.[0]?.invoiceItemId).to.equal(held!.invoiceItemId);
    expect(credited.map((c) => c.outcome)).to.deep.equal(['credited', 'already-credited']);
    expect(await ourCredits(description)).to.have.length(1);
  });

  it('keeps a credit Kill Bill holds with another amount as it is, and warns', async () => {
    const description = `record-stage credit ${randomUUID()}`;
    await accountCredits(ctx.kb).give(accountId, 40, description);
    await sendPending(ctx, credit(description, 100, true), async () => {});
    const held = await ourCredits(description);
    expect(
      held.map((c) => c.cents),
      'not credited a second time',
    ).to.deep.equal([40]);
    const warning = lines().find((l) => l.event === 'sync.credit_amount_differs');
    expect(warning, events().join(', ')).to.include({ level: 'warn', accountId });
    expect(credited.map((c) => c.outcome)).to.deep.equal(['already-credited']);
  });
});
