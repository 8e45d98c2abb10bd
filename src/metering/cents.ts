import { Decimal } from 'decimal.js';
import { InvalidRateError, UnsafeCentsError } from '../errors/metering-errors.js';

/**
 * Money in metering is decimal.js, never a JS float. CloudKitty's sums arrive as float text such as
 * "0.24000000000000002" (cloudkitty-17 gotcha 13): see {@link quantizeRate} for why that text is cut to a
 * fixed scale before any sum.
 */
export type RateInput = string | null | undefined;

/** Whole cents as a JS number; always a safe integer so JSON carries it exactly. */
export type Cents = number;

// A private Decimal constructor so another module's Decimal.set() cannot change our precision or rounding.
const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -40, toExpPos: 40 });
export type Money = Decimal;

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Reads a CloudKitty rate (the decimal string our OpenStack client passes, or null = no data) as an exact decimal. */
export function parseRate(rate: RateInput): Money {
  if (rate === null || rate === undefined) return new D(0);
  const text = rate.trim();
  if (!DECIMAL_TEXT.test(text)) throw new InvalidRateError(`not a decimal rate: ${JSON.stringify(rate)}`);
  return new D(text);
}

/**
 * Decimal places CloudKitty rates are cut to before anything is summed. CloudKitty keeps prices as binary
 * floats and answers `SUM(price)` as float text (`15.62499999999999989` for 15.625); summing that text
 * exactly keeps the noise, and at a period total of exactly X.XX5 the noise decides the cent. Float noise
 * sits near the 16th significant digit, so 8 places drop it for any rate below 10⁷ while keeping every
 * price CloudKitty's own rating rules can sensibly express (unit prices of a millionth of a cent).
 */
export const DEFAULT_RATE_SCALE = 8;

/** A CloudKitty rate cut to `scale` decimal places, half-up: the float noise of its sum removed. */
export function quantizeRate(rate: RateInput, scale: number = DEFAULT_RATE_SCALE): Money {
  return parseRate(rate).toDecimalPlaces(scale, Decimal.ROUND_HALF_UP);
}

/** The exact decimal sum of rates; null rates count as zero. */
export function sumRates(rates: readonly RateInput[]): Money {
  return rates.reduce<Money>((acc, r) => acc.plus(parseRate(r)), new D(0));
}

/**
 * Converts an amount of money to whole cents, rounding half-up (half away from zero, so -0.005 → -1 cent,
 * symmetric with +0.005 → +1). This is the single rounding step of the design; call it on period totals only.
 */
export function toCentsHalfUp(amount: Money): Cents {
  const cents = amount.times(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP);
  return toSafeCents(cents);
}

/** Converts an exact integer decimal to a number, refusing anything a JSON number could not carry exactly. */
export function toSafeCents(value: Money): Cents {
  if (!value.isInteger()) throw new UnsafeCentsError(`not a whole number of cents: ${value.toString()}`);
  const n = value.toNumber();
  if (!Number.isSafeInteger(n))
    throw new UnsafeCentsError(`cents out of the safe integer range: ${value.toString()}`);
  // Normalise -0 so that callers comparing with === 0 and JSON output never see "-0".
  return n === 0 ? 0 : n;
}

/** Cents back to a decimal amount of money (e.g. for a "late difference" report in currency units). */
export function centsToMoney(cents: Cents): Money {
  return new D(cents).dividedBy(100);
}
