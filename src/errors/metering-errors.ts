import { BridgeError } from './bridge-error.js';

/**
 * Invalid metering input, against the rules of `src/metering`. They are thrown only for programming or
 * configuration errors (a bad window size, a rate that is not a number); the sync should not catch them to
 * carry on, because carrying on would record wrong money. Not retryable: the same input fails the same way.
 */
export class MeteringInputError extends BridgeError {
  readonly retryable = false;
}

/** The window size is not a whole number of minutes that divides a day. */
export class InvalidWindowSizeError extends MeteringInputError {}

/** A CloudKitty rate could not be read as a finite decimal. */
export class InvalidRateError extends MeteringInputError {}

/** A bill-cycle day outside 1–31, an unknown IANA time zone, or FIXED mode without a reference time. */
export class InvalidBillingCycleError extends MeteringInputError {}

/** An instant (Date) is invalid, or a range ends before it starts. */
export class InvalidInstantError extends MeteringInputError {}

/** A tracking id could not be built (too long, bad characters) or parsed. */
export class InvalidTrackingIdError extends MeteringInputError {}

/** An amount of cents that is not a safe integer (it would lose precision in JSON). */
export class UnsafeCentsError extends MeteringInputError {}

/** Inconsistent period input for rounding or corrections (e.g. windows out of order). */
export class InvalidPeriodInputError extends MeteringInputError {}
