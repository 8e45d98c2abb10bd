export * from './killbill-client.js';
export * from './errors.js';
export * from './paged-listings.js';
