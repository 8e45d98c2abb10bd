import type { Logger } from '../logging/logger.js';
import { DEFAULT_RATE_SCALE, quantizeRate, type Money } from '../metering/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';
import { ownsRow, projectKey, type ProjectUsage } from './rated-usage-pull.js';

/** A project's rated usage in a pull that no metered subscription of it owns: billed to no one. */
export interface UnattributedUsage {
  tenant: string;
  projectId: string;
  /** The stack ids (or null: untagged) whose rows no subscription owns. */
  stacks: Array<string | null>;
  /** Rated money per metric type, exact decimal text (rates quantized, then summed). */
  rated: Record<string, string>;
}

/**
 * The usage of projects split by cluster that none of their metered subscriptions owns: a stack no
 * subscription names, when the project has no subscription without a stack id to take the rest. Only metric
 * types someone bills count (an unbilled metric is a choice, not a loss). It is reported, never billed:
 * giving it to some subscription would be a guess.
 */
export function unattributedUsage(
  metered: readonly SubscriptionEntry[],
  usage: ProjectUsage,
  rateScale: number = DEFAULT_RATE_SCALE,
): UnattributedUsage[] {
  const byProject = new Map<string, SubscriptionEntry[]>();
  for (const e of metered) {
    if (!e.projectId) continue;
    const key = `${e.tenantApiKey}\0${projectKey(e.projectId)}`;
    byProject.set(key, [...(byProject.get(key) ?? []), e]);
  }
  const found: UnattributedUsage[] = [];
  for (const [key, entries] of byProject) {
    const [tenant, project] = key.split('\0') as [string, string];
    const billed = new Set(entries.flatMap((e) => Object.keys(e.units)));
    const stacks = new Set<string | null>();
    const rated = new Map<string, Money>();
    for (const row of usage.get(project) ?? []) {
      if (row.rate === null || !billed.has(row.type)) continue;
      if (entries.some((e) => ownsRow(e, row.stack))) continue;
      const rate = quantizeRate(row.rate, rateScale);
      if (rate.isZero()) continue;
      stacks.add(row.stack);
      rated.set(row.type, rated.get(row.type)?.plus(rate) ?? rate);
    }
    if (rated.size === 0) continue;
    found.push({
      tenant,
      projectId: project,
      stacks: [...stacks],
      rated: Object.fromEntries([...rated].map(([type, sum]) => [type, sum.toString()])),
    });
  }
  return found;
}

/** Usage of clusters no subscription owns is billed to no one: said in the log (the caller tells the metrics). */
export function reportUnattributed(
  metered: readonly SubscriptionEntry[],
  usage: ProjectUsage,
  logger: Logger,
  rateScale?: number,
): UnattributedUsage[] {
  const found = unattributedUsage(metered, usage, rateScale);
  for (const u of found) {
    logger.warn(
      { event: 'sync.unattributed', ...u },
      'rated usage of a project belongs to no metered subscription (a stack none names); reported, not billed',
    );
  }
  return found;
}
