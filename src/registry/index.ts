export * from './metered-subscription.js';
export * from './account-resolution.js';
export * from './conflicts.js';
export * from './registry-store.js';
export * from './account-registrar.js';
