export * from './killbill-client.js';
export * from './errors.js';
