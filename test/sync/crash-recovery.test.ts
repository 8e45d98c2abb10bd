import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { Decimal } from 'decimal.js';
import type { RatedUsage } from '../support/rated-usage-dataframes.js';
import { MeteringStack } from '../support/metering-stack.js';
import { seedRatedUsage, seededCloudKittyEnv } from '../support/cloudkitty.js';
import { TEST_TOKEN } from '../support/bridge-config.js';
import { waitFor } from '../support/wait.js';

const HOUR = 3_600_000;
const PROJECT = 'c0ffee00c0ffee00c0ffee00c0ffee00';

describe('usage sync: a worker killed mid-run', function () {
  this.timeout(120_000);
  let stack: MeteringStack;

  before(async function () {
    this.timeout(10 * 60_000); // the shared Kill Bill may have to start first
    stack = await MeteringStack.start();
  });
  after(async () => {
    await stack?.close();
  });

  it('leaves no gap and no double once restarted', async () => {
    const seedStart = Math.floor(Date.now() / HOUR) * HOUR - 51 * HOUR;
    const usage: RatedUsage[] = [];
    let total = new Decimal(0);
    for (let h = 0; h < 48; h++) {
      const price = new Decimal((h * 29) % 70).plus(3).div(1000);
      total = total.plus(price);
      usage.push({
        begin: new Date(seedStart + h * HOUR),
        projectId: PROJECT,
        metric: 'instance',
        price: price.toString(),
      });
    }
    await stack.cloudkitty.reset();
    await seedRatedUsage(stack.cloudkitty.url, usage);
    // Started on the first of the month, so the 48 hours fall in as few billing periods as possible.
    const { subscriptionId } = await stack.meteredAccount(
      'initech',
      PROJECT,
      new Date(seedStart - 24 * HOUR).toISOString().slice(0, 10),
      'instance',
    );
    await stack.reconcile();

    // Kill Bill answers slowly, so the run is still going when it is killed.
    stack.killbill.latencyMs = 40;
    const env = {
      ...process.env,
      ...stack.env(),
      ...seededCloudKittyEnv(stack.cloudkitty.url),
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
      LOG_LEVEL: 'silent',
      BRIDGE_LOCK_TTL: '2s',
    };
    const child = spawn(process.execPath, ['bin/bridge.js', 'sync', '--once'], { env, stdio: 'ignore' });
    const range = stack.usageDays(seedStart - 48 * HOUR, seedStart + 49 * HOUR);
    const recorded = async () =>
      Number((await stack.kb.getUsage(subscriptionId, ...range)).rolledUpUnits?.[0]?.amount ?? 0);
    await waitFor('the killed run has recorded part of the usage', async () => (await recorded()) > 0, {
      timeoutMs: 60_000,
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    stack.killbill.latencyMs = 0;
    const partial = await recorded();
    const expected = total.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
    expect(partial).to.be.greaterThan(0);

    // Restarted at once, while the dead run's lock has not lapsed yet: the new run waits for it to lapse,
    // then finishes the work, resending anything left pending with the same tracking id.
    expect(await stack.redis.exists(stack.ledger.lockKey(stack.apiKey, subscriptionId))).to.equal(1);
    const rerun = spawn(process.execPath, ['bin/bridge.js', 'sync', '--once', '--json'], {
      env: { ...env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    rerun.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => rerun.once('exit', r));
    expect(code, out).to.equal(0);
    const doc = JSON.parse(out) as {
      results: Array<{ records: number; alreadyRecorded: number; error?: string }>;
    };
    const [summary] = doc.results;
    expect(summary!.error).to.equal(undefined);
    expect(summary!.records + summary!.alreadyRecorded).to.be.greaterThan(0);
    expect(await recorded()).to.equal(expected);
    // And a further run finds nothing to do.
    const again = await stack.usageSync().runOnce({ mode: 'recheck' });
    expect(again[0]).to.deep.include({ records: 0, corrections: 0 });
    expect(await recorded()).to.equal(expected);
  });
});
