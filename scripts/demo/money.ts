// The demo prints money the way `bridge reconcile` does: one formatting, kept with the CLI.
export { formatAmount, formatMoney, minorDigits } from '../../src/app/money.js';
