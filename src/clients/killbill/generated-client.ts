import { createRequire } from 'node:module';
import type { AxiosInstance, AxiosStatic } from 'axios';
import type * as Generated from 'killbill';
import type { AccountApi, CatalogApi, InvoiceApi, SubscriptionApi, TenantApi, UsageApi } from 'killbill';

const require = createRequire(import.meta.url);
let killbill: typeof Generated | undefined;
let commonAxios: AxiosStatic | undefined;

/**
 * The official generated Kill Bill client, loaded on first use: a `bridge sync` whose usage records all go out
 * on Node's own client (usage-post.ts) never loads it nor axios, about 0.15 s of CPU at its start. It is
 * CommonJS, so `require`: imported from an ES module, Node would first scan its 1.4 MB for named exports.
 * Its types come from `import type … from 'killbill'`, which costs nothing at run time.
 */
export function generated(): typeof Generated {
  return (killbill ??= require('killbill') as typeof Generated);
}

/**
 * axios as the generated client itself requires it (CommonJS): importing it as an ES module would load axios a
 * second time, its ES build, for the same library.
 */
function axios(): AxiosStatic {
  return (commonAxios ??= require('axios') as AxiosStatic);
}

type ApiArgs = ConstructorParameters<typeof AccountApi>;

/** The generated APIs of one Kill Bill tenant, on one axios instance. */
export interface GeneratedApis {
  http: AxiosInstance;
  /** For any other generated API on the same connection. */
  args: ApiArgs;
  accounts: AccountApi;
  subscriptions: SubscriptionApi;
  usages: UsageApi;
  tenants: TenantApi;
  catalogs: CatalogApi;
  invoices: InvoiceApi;
}

export interface GeneratedConnection {
  url: string;
  username: string;
  password: string;
  apiKey: string;
  apiSecret: string;
  timeoutMs: number;
}

/** Loads the generated client (once) and builds its APIs on a connection of their own. */
export function connectGenerated(c: GeneratedConnection): GeneratedApis {
  const { Configuration, apiKey, AccountApi, SubscriptionApi, UsageApi, TenantApi, CatalogApi, InvoiceApi } =
    generated();
  const http = axios().create({ timeout: c.timeoutMs, maxRedirects: 0 });
  const config = new Configuration({
    basePath: c.url,
    username: c.username,
    password: c.password,
    apiKey: apiKey(c.apiKey, c.apiSecret),
  });
  // killbill types axios through its CJS entry, this file through its ES one; the instance is the same.
  const args: ApiArgs = [config, undefined, http as unknown as ApiArgs[2]];
  return {
    http,
    args,
    accounts: new AccountApi(...args),
    subscriptions: new SubscriptionApi(...args),
    usages: new UsageApi(...args),
    tenants: new TenantApi(...args),
    catalogs: new CatalogApi(...args),
    invoices: new InvoiceApi(...args),
  };
}
