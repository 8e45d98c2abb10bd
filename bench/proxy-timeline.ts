import type { ProxiedRequest } from '../test/support/fault-proxy.js';

export interface CallTimeline {
  calls: number;
  /** From the first call's arrival at the proxy to the last one's answer, in s. */
  spanS: number;
  /** Calls answered a second over that span. */
  perSecond: number;
  /** Calls in flight upstream on average over that span: how busy the caller kept the service. */
  meanInFlight: number;
  /** The calls' own times added up, in s: from arrival to the whole answer handed on. */
  busyS: number;
  /** From arrival to the first of the answer, added up, in s: the service's own time for one that builds its answer whole before sending it (CloudKitty). */
  toFirstByteS: number;
}

/**
 * What the proxy saw of a run's calls to one service. A sync slower than its floor either kept Kill Bill less
 * busy than the floor's client did (fewer calls in flight) or found it slower at the same load (a lower rate
 * at the same calls in flight): this tells which.
 */
export function callTimeline(calls: readonly ProxiedRequest[]): CallTimeline {
  const answered = calls.filter((c) => c.answeredAt !== undefined);
  if (answered.length === 0)
    return { calls: 0, spanS: 0, perSecond: 0, meanInFlight: 0, busyS: 0, toFirstByteS: 0 };
  let [first, last, busyMs, toFirstByteMs] = [Infinity, -Infinity, 0, 0];
  for (const c of answered) {
    first = Math.min(first, c.at);
    last = Math.max(last, c.answeredAt!);
    busyMs += c.answeredAt! - c.at;
    toFirstByteMs += (c.headersAt ?? c.answeredAt!) - c.at;
  }
  const spanMs = Math.max(1, last - first);
  return {
    calls: answered.length,
    spanS: spanMs / 1000,
    perSecond: (answered.length / spanMs) * 1000,
    meanInFlight: busyMs / spanMs,
    busyS: busyMs / 1000,
    toFirstByteS: toFirstByteMs / 1000,
  };
}
