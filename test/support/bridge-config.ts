import { loadConfig, type BridgeConfig } from '../../src/config/index.js';

export const TEST_TOKEN = 'test-callback-token-0123456789';

/** A validated configuration for tests, from env-style values only (no file is read). */
export function testConfig(env: Record<string, string> = {}): BridgeConfig {
  return loadConfig({
    searchPath: [],
    env: {
      KILLBILL_API_KEY: 'bob',
      KILLBILL_API_SECRET: 'lazar',
      BRIDGE_CALLBACK_TOKEN: TEST_TOKEN,
      CLOUDKITTY_URL: 'http://127.0.0.1:9',
      LOG_LEVEL: 'silent',
      ...env,
    },
  }).config;
}
