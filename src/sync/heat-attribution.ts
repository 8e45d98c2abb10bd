import type { Logger } from '../logging/logger.js';
import type { CloudKittyClient, HeatClient } from '../clients/openstack/index.js';
import { HeatStackNotFoundError, StackProjectMismatchError } from '../errors/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';
import { projectKey, pullRatedUsage, type ProjectUsage, type RatedRow } from './rated-usage-pull.js';
import { rowsByStack, type ServerStackMemory } from './server-stacks.js';
import {
  sharesByStack,
  type AttributedUsage,
  type AttributionRequest,
  type StackAttribution,
} from './stack-attribution.js';

/** CloudKitty's groupby attribute of a rated resource: the Nova server id for instance-based metrics. */
export const RESOURCE_ID_TAG = 'id';

/** Projects whose stacks are looked up at once; each project's stacks are looked up together. */
const PROJECTS_AT_ONCE = 4;

/** The metered stacks of one project: stack id → its name when a subscription gives one. */
type ProjectStacks = Map<string, string | null>;

export interface HeatAttributionOptions {
  heat: HeatClient;
  memory: ServerStackMemory;
  logger: Logger;
}

/**
 * Stacks told apart through Heat: CloudKitty's summary grouped by resource id, each id mapped to the metered
 * stack whose servers Heat lists (or the bridge remembers). Each stack is looked up once per pull, so once
 * per sync run whatever the number of windows. When Heat fails for a project, its rows are not attributed
 * at all (`unattributable`): none of its subscriptions records from this pull.
 */
export class HeatAttribution implements StackAttribution {
  readonly kind = 'heat';

  constructor(private readonly options: HeatAttributionOptions) {}

  async pull(
    cloudkitty: CloudKittyClient,
    req: AttributionRequest,
    metered: readonly SubscriptionEntry[],
  ): Promise<AttributedUsage> {
    const stacks = meteredStacks(metered, req);
    if (stacks.size === 0) return { usage: await pullRatedUsage(cloudkitty, req), unattributable: new Map() };
    const byResource = await pullRatedUsage(cloudkitty, { ...req, stackTag: RESOURCE_ID_TAG });
    const usage: ProjectUsage = new Map();
    const unattributable = new Map<string, Error>();
    const clustered: Array<[string, RatedRow[], ProjectStacks]> = [];
    for (const [project, rows] of byResource) {
      const projectStacks = stacks.get(project);
      if (projectStacks) clustered.push([project, rows, projectStacks]);
      else usage.set(project, rowsByStack(rows, new Map()));
    }
    await inLanes(clustered, PROJECTS_AT_ONCE, async ([project, rows, projectStacks]) => {
      try {
        usage.set(project, rowsByStack(rows, await this.serverStacks(project, projectStacks)));
      } catch (err) {
        unattributable.set(project, err as Error);
      }
    });
    if (unattributable.size > 0) this.reportFailures(unattributable);
    return { usage, unattributable };
  }

  /** Every server of the project's metered stacks: those Heat lists now, and those seen in them before. */
  private async serverStacks(project: string, stacks: ProjectStacks): Promise<Map<string, string>> {
    const { memory } = this.options;
    const remembered = await memory.recall(project);
    const seen = new Map<string, string>();
    // Settled, all of them, before a failure is reported: a lookup still retrying would reach Heat after the
    // run that asked it has given up (and after the next one started).
    const lookups = await Promise.allSettled(
      [...stacks].map(async ([stackId, name]) => {
        for (const server of await this.serversOf(project, stackId, name, remembered))
          seen.set(server, stackId);
      }),
    );
    const failed = lookups.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed) throw failed.reason;
    await memory.remember(project, seen);
    return new Map([...remembered, ...seen]);
  }

  /** The stack's servers as Heat lists them now; none for a stack Heat has purged after the bridge saw it. */
  private async serversOf(
    project: string,
    stackId: string,
    name: string | null,
    remembered: ReadonlyMap<string, string>,
  ): Promise<string[]> {
    try {
      return await this.listServers(project, stackId, name);
    } catch (err) {
      // A stack never seen may be a mistyped openstack_stack_id: billing its usage to the rest would be a guess.
      const seenBefore = [...remembered.values()].includes(stackId);
      if (err instanceof HeatStackNotFoundError && seenBefore) return [];
      throw err;
    }
  }

  private async listServers(project: string, stackId: string, name: string | null): Promise<string[]> {
    const { heat } = this.options;
    if (name) {
      try {
        return (await heat.stackServers({ projectId: project, stackName: name, stackId })).map(
          (s) => s.serverId,
        );
      } catch (err) {
        // openstack_stack_name is written by people: a wrong one must not hide the stack, its id decides.
        if (!(err instanceof HeatStackNotFoundError)) throw err;
      }
    }
    const found = await heat.findStack(project, stackId);
    if (projectKey(found.projectId) !== project) {
      throw new StackProjectMismatchError(stackId, found.projectId, project);
    }
    return (await heat.stackServers({ ...found, projectId: project })).map((s) => s.serverId);
  }

  /** One line per pull: while Heat is down every run says so, not every project. */
  private reportFailures(unattributable: Map<string, Error>): void {
    const [first] = unattributable.values();
    this.options.logger.warn(
      { event: 'sync.heat_failed', projects: [...unattributable.keys()], err: first?.message },
      "Heat did not list these projects' cluster servers; their usage is not recorded until it does (retried)",
    );
  }
}

/**
 * Per project, the stacks a pull must look up: each metered subscription's own stack, and the stacks a
 * subscription without one leaves to others, of subscriptions whose span meets the range (a cluster
 * cancelled long before says nothing about these rows, and Heat may have purged its stack).
 */
export function meteredStacks(
  metered: readonly SubscriptionEntry[],
  range: { begin: Date; end: Date },
): Map<string, ProjectStacks> {
  const byProject = new Map<string, ProjectStacks>();
  for (const e of metered) {
    if (!e.projectId || !sharesByStack(e) || !meetsRange(e, range)) continue;
    const project = projectKey(e.projectId);
    const stacks = byProject.get(project) ?? new Map<string, string | null>();
    for (const other of e.otherStacks ?? []) if (!stacks.has(other)) stacks.set(other, null);
    if (e.stackId !== null) stacks.set(e.stackId, e.stackName ?? stacks.get(e.stackId) ?? null);
    byProject.set(project, stacks);
  }
  return byProject;
}

function meetsRange(e: SubscriptionEntry, range: { begin: Date; end: Date }): boolean {
  const since = e.since ? new Date(e.since) : null;
  const until = e.until ? new Date(e.until) : null;
  return (since === null || since < range.end) && (until === null || until > range.begin);
}

async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>) {
  // One queue for every lane: each takes the next item when it is free.
  const queue = items.values();
  const lane = async () => {
    for (const item of queue) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}
