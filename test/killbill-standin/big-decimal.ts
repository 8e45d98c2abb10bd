import { Decimal } from 'decimal.js';

/**
 * Java's BigDecimal is exact; decimal.js rounds to 20 significant digits by default. A private clone with
 * ample precision keeps sums of decimal(18,9) amounts exact without changing the global Decimal setting
 * that other code in the same process may rely on.
 */
export const BigDecimal = Decimal.clone({ precision: 80, rounding: Decimal.ROUND_HALF_UP });
export type BigDecimal = Decimal;
