// Every error the bridge names, by what the operator or a worker must do about it (docs/architecture.md).
export * from './bridge-error.js';
export * from './config-error.js';
export * from './input-errors.js';
export * from './metering-errors.js';
export * from './sync-errors.js';
export * from './unreachable-error.js';
export * from './upstream-errors.js';
