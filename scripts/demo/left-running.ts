/** The stack `--keep-running` leaves up, as the "left running" block needs it. */
export interface RunningStack {
  /** The environment the demo's bridge was configured with (schema env names). */
  bridgeEnv: Record<string, string>;
  apiUrl: string;
  killbillUrl: string;
  cloudkittyUrl: string;
  redisUrl: string;
  pid: number;
}

/** Only the demo's own services use it; the CLI is more useful to a person at its default level. */
const NOT_EXPORTED = new Set(['LOG_LEVEL']);

/** `export NAME='value'` lines a POSIX shell takes as they are, whatever the value holds. */
export function exportLines(env: Record<string, string>): string[] {
  return Object.entries(env)
    .filter(([name]) => !NOT_EXPORTED.has(name))
    .map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'`);
}

/**
 * Every URL of the stack, with what each needs to be called, and the environment that points
 * `npx bridge …` at it. It is a local demo, so the callback token and credentials are shown in full.
 */
export function leftRunningLines(stack: RunningStack): string[] {
  const env = stack.bridgeEnv;
  const kbAuth =
    `-u ${env.KILLBILL_USERNAME}:${env.KILLBILL_PASSWORD} ` +
    `-H 'X-Killbill-ApiKey: ${env.KILLBILL_API_KEY}' -H 'X-Killbill-ApiSecret: ${env.KILLBILL_API_SECRET}'`;
  return [
    `callback:   ${env.BRIDGE_PUBLIC_URL}/killbill/notifications?token=${env.BRIDGE_CALLBACK_TOKEN} (registered with Kill Bill)`,
    `health:     curl ${stack.apiUrl}/healthz`,
    `readiness:  curl ${stack.apiUrl}/readyz`,
    `metrics:    curl ${stack.apiUrl}/metrics`,
    `Kill Bill:  ${stack.killbillUrl} (the stand-in), user ${env.KILLBILL_USERNAME} password ${env.KILLBILL_PASSWORD}, ` +
      `tenant API key ${env.KILLBILL_API_KEY} secret ${env.KILLBILL_API_SECRET}`,
    `            curl ${kbAuth} ${stack.killbillUrl}/1.0/kb/accounts/pagination`,
    `CloudKitty: ${stack.cloudkittyUrl} (no Keystone): curl '${stack.cloudkittyUrl}/v2/summary?groupby=project_id'`,
    `Redis:      ${stack.redisUrl} (keys under ${env.BRIDGE_REDIS_PREFIX}:): redis-cli -u ${stack.redisUrl}`,
    '',
    'To run the CLI against this stack, paste this into a shell in this folder:',
    ...exportLines(env),
    'then e.g. `npx bridge registry show` or `node bin/bridge.js sync --once`.',
    '',
    `Ctrl-C (or kill ${stack.pid}) stops everything.`,
  ];
}
