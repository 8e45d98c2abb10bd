/**
 * Pure metering logic: windows, billing periods, cents and rounding, corrections, tracking ids and the usage
 * records posted to Kill Bill. No I/O here; see docs/amounts-and-windows.md for the reasoning.
 */
export * from '../errors/metering-errors.js';
export * from './cents.js';
export * from './period-rounding.js';
export * from './window.js';
export * from './time-zone.js';
export * from './billing-period.js';
export * from './billing-cycle.js';
export * from './billing-windows.js';
export * from './closed-window.js';
export * from './subscription-span.js';
export * from './tracking-id.js';
export * from './credit-description.js';
export * from './correction.js';
export * from './period-continuation.js';
export * from './downward-correction.js';
export * from './usage-record.js';
