import { describeOrigin, type ConfigProblem, type ValueOrigin } from '../errors/config-error.js';
import type { WrittenConfig } from './schema.js';

interface Address {
  host: string;
  port: number;
}

function addressOf(url: string): Address | undefined {
  try {
    const u = new URL(url);
    const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
    return { host: u.hostname.toLowerCase().replace(/^\[|\]$/g, ''), port };
  } catch {
    return undefined;
  }
}

/** Names that reach this machine whatever its interfaces are; the bridge listens on all of them. */
function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '::1' ||
    host === '0.0.0.0' ||
    host === '::'
  );
}

function sameAddress(a: Address, b: Address): boolean {
  return a.port === b.port && (a.host === b.host || (isLoopback(a.host) && isLoopback(b.host)));
}

/**
 * A bridge whose Kill Bill URL is its own address calls itself: every Kill Bill call gets the bridge's
 * 404 and the operator sees only "callback failed: 404" forever. Refused here, naming both keys.
 */
export function addressClashProblems(c: WrittenConfig, origins: Map<string, ValueOrigin>): ConfigProblem[] {
  const killbill = addressOf(c.killbill.url);
  if (!killbill) return [];
  const origin = (key: string): ValueOrigin => origins.get(key) ?? { source: 'default' };
  const killbillShown = `killbill.url = ${JSON.stringify(c.killbill.url)} (from ${describeOrigin(origin('killbill.url'))})`;
  const problems: ConfigProblem[] = [];

  // Port 0 asks the system for a free port, which cannot be Kill Bill's.
  if (c.server.port !== 0 && isLoopback(killbill.host) && killbill.port === c.server.port) {
    problems.push({
      key: 'server.port',
      message:
        `the bridge listens on port ${c.server.port} of this machine, which is the address of ${killbillShown}, ` +
        'so the bridge would call itself instead of Kill Bill; change server.port or killbill.url',
      origin: origin('server.port'),
      shown: String(c.server.port),
    });
  }
  const publicAddress = addressOf(c.server.publicUrl);
  if (publicAddress && sameAddress(publicAddress, killbill)) {
    problems.push({
      key: 'server.publicUrl',
      message:
        `the URL Kill Bill is told to call back is the address of ${killbillShown}, ` +
        'so Kill Bill would be sent its own notifications; change server.publicUrl or killbill.url',
      origin: origin('server.publicUrl'),
      shown: JSON.stringify(c.server.publicUrl),
    });
  }
  return problems;
}
