import type { Redis } from 'ioredis';

/** The part of ioredis's (private) SentinelConnector this module relies on. */
interface DetectorHolder {
  failoverDetector?: { cleanup: () => void } | null;
}

function connectorOf(redis: Redis): DetectorHolder | undefined {
  const connector = (redis as unknown as { connector?: unknown }).connector;
  // Guarded: a later ioredis without this field leaves the connection as ioredis made it.
  if (typeof connector === 'object' && connector !== null && 'failoverDetector' in connector) {
    return connector as DetectorHolder;
  }
  return undefined;
}

/**
 * Releases a Sentinel connection's failover detector whenever the connection closes, for it and every
 * connection duplicated from it (BullMQ duplicates the one it is given for its blocking commands).
 *
 * Why: ioredis 5.11 drops the detector (its `+switch-master` subscriptions) only when it closes the
 * connection itself. When the server closes it (the master killed, or a Sentinel killing the demoted
 * master's clients), the old detector stays subscribed while ioredis reconnects; a `+switch-master` arriving
 * then makes it "disconnect" the reconnect in progress, and ioredis gives the connection up for good (status
 * `end`, every command "Connection is closed."): every job stops. Released on close, the reconnect asks the
 * Sentinels for the master anyway, and a new detector is made once it is connected. Upstream: ioredis
 * pull request #2198 does the same.
 */
export function releaseFailoverDetectorOnClose(redis: Redis): void {
  redis.on('close', () => {
    const connector = connectorOf(redis);
    const detector = connector?.failoverDetector;
    if (!connector || !detector) return;
    connector.failoverDetector = null;
    detector.cleanup();
  });
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (override) => {
    const copy = duplicate(override);
    releaseFailoverDetectorOnClose(copy);
    return copy;
  };
}
