import type { Logger } from '../logging/logger.js';
import { DEFAULT_RATE_SCALE, quantizeRate, type Money } from '../metering/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';
import { ownsRow, projectKey, type ProjectUsage, type RatedRow } from './rated-usage-pull.js';

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
 * giving it to some subscription would be a guess. Reported tenant by tenant, each tenant's projects in the
 * order their first subscription comes in `metered`.
 */
export function unattributedUsage(
  metered: readonly SubscriptionEntry[],
  usage: ProjectUsage,
  rateScale: number = DEFAULT_RATE_SCALE,
): UnattributedUsage[] {
  const found: UnattributedUsage[] = [];
  for (const [tenant, projects] of meteredByProject(metered))
    for (const [project, entries] of projects) {
      const unowned = unownedOf(entries, usage.get(project), rateScale);
      if (unowned) found.push({ tenant, projectId: project, ...unowned });
    }
  return found;
}

/**
 * Tenant → project → its metered subscriptions. Built for every pull, before anything is recorded: a
 * composite key and a new list per subscription were about 230 bytes a project of promoted garbage.
 */
function meteredByProject(metered: readonly SubscriptionEntry[]) {
  const byTenant = new Map<string, Map<string, SubscriptionEntry[]>>();
  for (const e of metered) {
    if (!e.projectId) continue;
    let projects = byTenant.get(e.tenantApiKey);
    if (!projects) byTenant.set(e.tenantApiKey, (projects = new Map()));
    const key = projectKey(e.projectId);
    const list = projects.get(key);
    if (list) list.push(e);
    else projects.set(key, [e]);
  }
  return byTenant;
}

/** The rows of one project its subscriptions do not own, by stack and metric type; undefined when none. */
function unownedOf(
  entries: readonly SubscriptionEntry[],
  rows: readonly RatedRow[] | undefined,
  rateScale: number,
): Pick<UnattributedUsage, 'stacks' | 'rated'> | undefined {
  let rated: Map<string, Money> | undefined;
  let stacks: Set<string | null> | undefined;
  for (const row of rows ?? []) {
    // Owned first: the common case (one subscription taking its whole project) then reads nothing else.
    if (row.rate === null || entries.some((e) => ownsRow(e, row.stack))) continue;
    if (!entries.some((e) => Object.hasOwn(e.units, row.type))) continue;
    const rate = quantizeRate(row.rate, rateScale);
    if (rate.isZero()) continue;
    (stacks ??= new Set()).add(row.stack);
    rated ??= new Map();
    rated.set(row.type, rated.get(row.type)?.plus(rate) ?? rate);
  }
  if (!rated || !stacks) return undefined;
  return {
    stacks: [...stacks],
    rated: Object.fromEntries([...rated].map(([type, sum]) => [type, sum.toString()])),
  };
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
