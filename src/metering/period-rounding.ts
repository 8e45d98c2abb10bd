import { parseRate, toCentsHalfUp, type Cents, type Money, type RateInput } from './cents.js';

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
