import type { Command } from 'commander';
import { describeOrigin, type LoadedConfig } from '../config/index.js';
import { callbackUrl, hintCallbackUrl } from '../intake/callback-registration.js';
import { CallbackTokens } from '../intake/callback-token.js';
import { EXIT_FAILURE, loadConfigOrExit, type GlobalOptions } from './startup.js';

/** What the bridge expects for one tenant, as a line, and whether that line reports a failure. */
async function expectedLine(
  loaded: LoadedConfig,
  tokens: CallbackTokens,
  tenant: string,
  /** Undefined when Kill Bill could not be asked. */
  registered: string[] | undefined,
): Promise<{ line: string; failed: boolean }> {
  const { config } = loaded;
  let token: string | undefined;
  try {
    token = await tokens.expected(tenant);
  } catch (err) {
    return {
      line: `unknown: the bridge keeps this token in Redis, and ${(err as Error).message}`,
      failed: true,
    };
  }
  if (token === undefined) {
    return {
      line: 'no token yet: the bridge makes one when `bridge api` or `bridge setup` registers the callback',
      failed: false,
    };
  }
  const isDefault = tenant === config.killbill.apiKey;
  const url = callbackUrl(config.server.publicUrl, token, isDefault ? undefined : tenant);
  const from = tokens.configured
    ? `token from ${describeOrigin(loaded.origins.get('server.callbackToken') ?? { source: 'default' })}`
    : 'token made by the bridge, kept in Redis';
  const held =
    registered === undefined
      ? ''
      : registered.includes(url)
        ? ' ✓ Kill Bill holds it'
        : ' ✗ Kill Bill does not hold it';
  return { line: `${hintCallbackUrl(url)} (${from})${held}`, failed: false };
}

/** `bridge callback status`: the URL Kill Bill holds per tenant, next to the one this bridge expects. */
export function registerCallbackCommand(program: Command): void {
  program
    .command('callback')
    .description('the push-notification callback Kill Bill holds')
    .command('status')
    .description(
      'show the callback URL Kill Bill holds for each configured tenant and the one this bridge expects ' +
        '(tokens shown by their first characters)',
    )
    .action(async (_opts, cmd: Command) => {
      const loaded = loadConfigOrExit({ config: cmd.optsWithGlobals<GlobalOptions>().config });
      const { config } = loaded;
      // Loaded here, not at the top, so that `bridge --help` and the other commands do not pay for them.
      const [{ createTenantClients }, { redisOnDemand }] = await Promise.all([
        import('../clients/killbill/tenant-clients.js'),
        import('./redis-once.js'),
      ]);
      const redis = redisOnDemand(config.redis);
      const tokens = new CallbackTokens({
        configured: config.server.callbackToken,
        prefix: config.redis.prefix,
        redis: redis.get,
      });
      let failed = false;
      try {
        for (const [apiKey, client] of createTenantClients(config)) {
          let registered: string[] | undefined;
          try {
            registered = await client.getCallbacks();
            const shown = registered.length
              ? registered.map(hintCallbackUrl).join(', ')
              : '(none registered)';
            process.stdout.write(`${apiKey}: ${shown}\n`);
          } catch (err) {
            failed = true;
            process.stdout.write(`${apiKey}: ✗ ${(err as Error).message}\n`);
          }
          const expected = await expectedLine(loaded, tokens, apiKey, registered);
          failed ||= expected.failed;
          process.stdout.write(`  expected: ${expected.line}\n`);
        }
      } finally {
        redis.close();
      }
      if (failed) process.exitCode = EXIT_FAILURE;
    });
}
