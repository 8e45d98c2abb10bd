import { parseArgs } from 'node:util';
import { createLogger } from '../../src/logging/logger.js';
import { startKillBillStandin } from './index.js';

/**
 * `npm run killbill:standin -- --port 8080 [--host 0.0.0.0] [--retries 1s,5s]`: the stand-in as its own
 * process, for the demo and for scripts. Prints one line with the URL once it accepts requests.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    retries: { type: 'string' },
    'delivery-timeout-ms': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const standin = await startKillBillStandin({
  port,
  host: values.host,
  retrySchedule: values.retries ?? process.env.KILLBILL_SERVER_NOTIFICATIONS_RETRIES,
  deliveryTimeoutMs: values['delivery-timeout-ms'] ? Number(values['delivery-timeout-ms']) : undefined,
  logger: createLogger({ name: 'killbill-standin', level: values['log-level'] }),
});
console.log(`Kill Bill stand-in listening on ${standin.url}`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void standin.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
