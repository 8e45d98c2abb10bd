import type { BridgeConfig } from '../../config/index.js';
import { KillBillClient, type KillBillCall } from './killbill-client.js';

/**
 * One client per configured tenant, keyed by API key; the first is the default tenant. Every client
 * reports to `onReachability` whether Kill Bill answered, and to `onCall` how each call went.
 */
export function createTenantClients(
  config: BridgeConfig,
  onReachability?: (noAnswer: string | null) => void,
  onCall?: (call: KillBillCall) => void,
): Map<string, KillBillClient> {
  const kb = config.killbill;
  const tenants = [{ apiKey: kb.apiKey, apiSecret: kb.apiSecret }, ...kb.extraTenants];
  return new Map(
    tenants.map((t) => [
      t.apiKey,
      new KillBillClient({
        url: kb.url,
        username: kb.username,
        password: kb.password,
        apiKey: t.apiKey,
        apiSecret: t.apiSecret,
        createdBy: kb.createdBy,
        timeoutMs: kb.timeoutMs,
        onReachability,
        onCall,
      }),
    ]),
  );
}
