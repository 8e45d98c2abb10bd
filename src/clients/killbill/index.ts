export * from './killbill-client.js';
export { KillBillError } from '../../errors/index.js';
export * from './kill-bill-failures.js';
export * from './paged-listings.js';
