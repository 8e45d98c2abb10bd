import type { RedisClient } from '../jobs/redis-connection.js';
import type { Logger } from '../logging/logger.js';
import { shownUrl } from '../config/masking.js';
import { DEPENDENCY_LABEL, networkReason, type Dependency } from '../errors/index.js';

interface Outage {
  url: string;
  reason: string;
  /** Every reason said in this outage: two connections failing differently must not alternate lines. */
  said: Set<string>;
  since: number;
  lastSaid: number;
  /** The connections or callers that currently fail; the service is back when none does. */
  failing: Set<string>;
}

export interface DependencyWatchOptions {
  logger: Logger;
  /** How often a lasting outage is said again. Default 5 minutes. */
  reminderMs?: number;
  /** What the process does meanwhile, per service, e.g. `retrying every 5s`. */
  retrying?: Partial<Record<Dependency, string>>;
  now?: () => number;
}

const DEFAULT_RETRYING: Record<Dependency, string> = {
  redis: 'retrying every 5s',
  killbill: 'retrying with backoff until it answers',
  cloudkitty: 'the usage sync retries with backoff',
  keystone: 'the usage sync retries with backoff',
};

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m` : `${Math.round(m / 60)}h`;
}

/**
 * Says when a service the bridge needs stops answering and when it answers again, once each, instead of
 * a line per failed connection attempt (ioredis alone reports every reconnect of every connection). A
 * lasting outage is said again at a slow pace, so a log read later still shows it.
 */
export class DependencyWatch {
  private readonly outages = new Map<Dependency, Outage>();
  private readonly reminderMs: number;
  private readonly now: () => number;

  constructor(private readonly options: DependencyWatchOptions) {
    this.reminderMs = options.reminderMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** `source` failed to reach the service at `url` (shown masked), for `reason`. */
  down(dependency: Dependency, url: string, reason: string, source: string = dependency): void {
    const now = this.now();
    const current = this.outages.get(dependency);
    if (current && current.said.has(reason)) {
      current.failing.add(source);
      if (now - current.lastSaid < this.reminderMs) return;
      current.lastSaid = now;
      this.options.logger.warn(
        {
          event: 'dependency.still_down',
          dependency,
          url: current.url,
          reason: current.reason,
          downForMs: now - current.since,
        },
        `${this.describe(dependency)}, for ${duration(now - current.since)} now; ${this.retrying(dependency)}`,
      );
      return;
    }
    // A new outage, or the same one for another reason (refused, then timing out): worth a line each.
    const outage: Outage = {
      url: shownUrl(url),
      reason,
      said: new Set([...(current?.said ?? []), reason]),
      since: current?.since ?? now,
      lastSaid: now,
      failing: new Set([...(current?.failing ?? []), source]),
    };
    this.outages.set(dependency, outage);
    this.options.logger.warn(
      { event: 'dependency.down', dependency, url: outage.url, reason },
      `${this.describe(dependency)}; ${this.retrying(dependency)}`,
    );
  }

  /** `source` reached the service; once no source fails any more, the outage is over. */
  up(dependency: Dependency, source: string = dependency): void {
    const outage = this.outages.get(dependency);
    if (!outage) return;
    outage.failing.delete(source);
    if (outage.failing.size > 0) return;
    this.outages.delete(dependency);
    const downForMs = this.now() - outage.since;
    this.options.logger.info(
      { event: 'dependency.up', dependency, url: outage.url, downForMs },
      `${DEPENDENCY_LABEL[dependency]} at ${outage.url} is reachable again (was unreachable for ${duration(downForMs)})`,
    );
  }

  /** "X at URL is unreachable (why)" while it is, else undefined: what /readyz shows. */
  problem(dependency: Dependency): string | undefined {
    return this.outages.has(dependency) ? this.describe(dependency) : undefined;
  }

  /** Follows one ioredis connection: every failed reconnect reports down, every ready reports up. */
  watchRedis(redis: RedisClient, url: string, source: string): void {
    redis.on('error', (err: Error) => this.down('redis', url, networkReason(err), source));
    redis.on('ready', () => this.up('redis', source));
  }

  /** A Kill Bill client hook (see `onReachability`) reporting to this watch. */
  killBillObserver(url: string, source = 'killbill'): (noAnswer: string | null) => void {
    return (noAnswer) =>
      noAnswer === null ? this.up('killbill', source) : this.down('killbill', url, noAnswer, source);
  }

  private describe(dependency: Dependency): string {
    const o = this.outages.get(dependency)!;
    return `${DEPENDENCY_LABEL[dependency]} at ${o.url} is unreachable (${o.reason})`;
  }

  private retrying(dependency: Dependency): string {
    return this.options.retrying?.[dependency] ?? DEFAULT_RETRYING[dependency];
  }
}
