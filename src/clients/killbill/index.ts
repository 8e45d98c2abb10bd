export * from './killbill-client.js';
export * from './kill-bill-failures.js';
export * from './paged-listings.js';
