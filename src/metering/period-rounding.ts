import { parseRate, sumRates, toCentsHalfUp, type Cents, type Money, type RateInput } from './cents.js';

/**
 * Rounding happens ONCE per (subscription, unit, billing period): Kill Bill sums the period's recorded units
 * and we want that sum to equal the period's exact CloudKitty total rounded half-up to the cent. Rounding each
 * window instead would lose money (24 × 0.004 → 0 cents instead of 10) or add it (3 × 0.005 → 3 instead of 2).
 *
 * Cumulative rounding gives every window an integer while keeping each prefix exact:
 *   target(k) = roundHalfUp(100 × Σ_{i≤k} rate_i),   cents(k) = target(k) − target(k−1).
 * Because target(0) = 0, the windows of a prefix always add up to target(prefix), whatever happens later.
 */

/** Cumulative targets: element k is roundHalfUp(100 × Σ_{i≤k} rates[i]) in cents. */
export function cumulativeTargets(rates: readonly RateInput[]): Cents[] {
  return fixedPointTargets(rates) ?? decimalTargets(rates);
}

const PLAIN_RATE = /^([+-]?)(\d{1,20})(?:\.(\d{1,18}))?$/;
const SCALE = 10n ** 18n;
const PER_CENT = 10n ** 16n;

/**
 * The same targets in integer arithmetic, for the rates a sync plans with (plain decimal text of at most
 * 18 places: quantized CloudKitty rates): exact like decimal.js, and a sync of a whole month plans about
 * 720 windows per unit for every subscription, where decimal objects made most of its CPU time. Undefined
 * for any other text, which the decimal path then reads (or refuses).
 */
function fixedPointTargets(rates: readonly RateInput[]): Cents[] | undefined {
  const targets: Cents[] = [];
  let running = 0n;
  for (const rate of rates) {
    const units = fixedPointOf(rate);
    if (units === undefined) return undefined;
    running += units;
    const magnitude = running < 0n ? -running : running;
    // Half away from zero, as toCentsHalfUp rounds.
    const cents = magnitude / PER_CENT + (2n * (magnitude % PER_CENT) >= PER_CENT ? 1n : 0n);
    const n = Number(running < 0n ? -cents : cents);
    if (!Number.isSafeInteger(n)) return undefined;
    targets.push(n === 0 ? 0 : n);
  }
  return targets;
}

/** A rate in units of 10⁻¹⁸ (null = 0); undefined for text that is not plain decimal of at most 18 places. */
function fixedPointOf(rate: RateInput): bigint | undefined {
  if (rate === null || rate === undefined) return 0n;
  const m = PLAIN_RATE.exec(rate.trim());
  if (!m) return undefined;
  const units = BigInt(m[2]!) * SCALE + BigInt((m[3] ?? '').padEnd(18, '0'));
  return m[1] === '-' ? -units : units;
}

/**
 * The exact sum of rates (null = 0) as canonical decimal text: no exponent, no trailing zeros, "0" for zero.
 * Where a period's cumulative rounding stands after some of its windows; `cumulativeTargets` continues from it
 * exactly when it is given as the first rate. Canonical, so the same sum reached in any order reads the same.
 */
export function exactRateSum(rates: readonly RateInput[]): string {
  let running = 0n;
  for (const rate of rates) {
    const units = fixedPointOf(rate);
    if (units === undefined) return decimalSum(rates);
    running += units;
  }
  const magnitude = running < 0n ? -running : running;
  const fraction = (magnitude % SCALE).toString().padStart(18, '0').replace(/0+$/, '');
  const text = fraction ? `${magnitude / SCALE}.${fraction}` : `${magnitude / SCALE}`;
  return running < 0n ? `-${text}` : text;
}

function decimalSum(rates: readonly RateInput[]): string {
  const sum = sumRates(rates);
  return sum.isZero() ? '0' : sum.toFixed();
}

function decimalTargets(rates: readonly RateInput[]): Cents[] {
  const targets: Cents[] = [];
  let running: Money | null = null;
  for (const rate of rates) {
    const r = parseRate(rate);
    running = running === null ? r : running.plus(r);
    targets.push(toCentsHalfUp(running));
  }
  return targets;
}

/**
 * The cents to record for each window of one billing period (windows in time order, first window of the period
 * first). Σ of the result over any prefix equals roundHalfUp(Σ rates of that prefix); an element may be 0, and it
 * is negative only if a rate is negative (CloudKitty credits).
 */
export function allocatePeriodCents(rates: readonly RateInput[]): Cents[] {
  const targets = cumulativeTargets(rates);
  return targets.map((t, k) => (k === 0 ? t : t - (targets[k - 1] as Cents)));
}

/** The period's total in cents: its exact decimal sum, rounded once, half-up. */
export function periodTotalCents(rates: readonly RateInput[]): Cents {
  const targets = cumulativeTargets(rates);
  return targets.length === 0 ? 0 : (targets[targets.length - 1] as Cents);
}
