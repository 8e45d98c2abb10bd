import type { CloudKittyClient } from '../clients/openstack/index.js';
import type { SubscriptionEntry } from '../registry/metered-subscription.js';
import { pullRatedUsage, type ProjectUsage, type PullRequest } from './rated-usage-pull.js';

/** CloudKitty's groupby attribute that tells the stacks of one project apart, unless configured. */
export const DEFAULT_STACK_ATTRIBUTE = 'stack_id';

/** Whether a subscription shares its project by stack: it has a stack id, or takes the rest of a project with clusters. */
export function sharesByStack(entry: Pick<SubscriptionEntry, 'stackId' | 'otherStacks'>): boolean {
  return entry.stackId !== null || (entry.otherStacks?.length ?? 0) > 0;
}

/**
 * The attribute to group a pull by when any of these subscriptions shares its project by stack (has a
 * stack id, or takes the rest of a project that has clusters); undefined when none does.
 */
export function stackTagFor(
  entries: ReadonlyArray<Pick<SubscriptionEntry, 'stackId' | 'otherStacks'>>,
  attribute: string = DEFAULT_STACK_ATTRIBUTE,
): string | undefined {
  return entries.some(sharesByStack) ? attribute : undefined;
}

/** A pull's range and metric types; the attribution decides how rows are grouped by stack. */
export type AttributionRequest = Omit<PullRequest, 'stackTag'>;

/** Rated usage whose rows name their stack, as `ownsRow` reads them. */
export interface AttributedUsage {
  usage: ProjectUsage;
  /**
   * Projects whose rows could not be told apart by stack now (Heat did not answer), with why. None of their
   * subscriptions may record from this pull: a row given to the wrong one would be billed to the wrong
   * customer. Their windows stay pending and the next run (or the job's retry) tries again.
   */
  unattributable: Map<string, Error>;
}

/** How a pull learns which stack each row of a project shared by clusters belongs to (docs/clusters.md §4). */
export interface StackAttribution {
  readonly kind: 'groupby' | 'heat';
  /** One pull of the range for every project, rows attributed for the `metered` subscriptions' stacks. */
  pull(
    cloudkitty: CloudKittyClient,
    req: AttributionRequest,
    metered: readonly SubscriptionEntry[],
  ): Promise<AttributedUsage>;
}

/** The stack id is a CloudKitty groupby attribute (`cloudkitty.stackAttribute`): one summary says it all. */
export class GroupbyAttribution implements StackAttribution {
  readonly kind = 'groupby';

  constructor(private readonly attribute: string = DEFAULT_STACK_ATTRIBUTE) {}

  async pull(
    cloudkitty: CloudKittyClient,
    req: AttributionRequest,
    metered: readonly SubscriptionEntry[],
  ): Promise<AttributedUsage> {
    const stackTag = stackTagFor(metered, this.attribute);
    return { usage: await pullRatedUsage(cloudkitty, { ...req, stackTag }), unattributable: new Map() };
  }
}
