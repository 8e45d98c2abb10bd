import type { SubscriptionEntry } from './metered-subscription.js';

function overlaps(a: SubscriptionEntry, b: SubscriptionEntry): boolean {
  const aEnd = a.until ?? '9999';
  const bEnd = b.until ?? '9999';
  return (a.since ?? '') < bEnd && (b.since ?? '') < aEnd;
}

/**
 * Subscriptions metering one project over overlapping spans share its usage by stack (cluster): each with a
 * stack id takes that cluster's usage, and at most one without a stack id takes the rest. Two that cannot
 * be told apart (both without a stack id, or the same stack id) would bill the same usage twice: both are
 * marked `conflict` and neither is metered until someone fixes the fields; their windows stay pending, so
 * nothing is lost meanwhile. The one without a stack id learns the others' stack ids (`otherStacks`).
 */
export function markConflicts(entries: SubscriptionEntry[]): SubscriptionEntry[] {
  const byProject = new Map<string, SubscriptionEntry[]>();
  for (const e of entries) {
    if (e.status !== 'metered' || !e.projectId) continue;
    const key = `${e.tenantApiKey}\0${e.projectId}`;
    byProject.set(key, [...(byProject.get(key) ?? []), e]);
  }
  const conflicting = new Map<string, string[]>();
  const otherStacks = new Map<string, Set<string>>();
  const add = <T>(map: Map<string, T[]>, key: string, value: T) =>
    map.set(key, [...(map.get(key) ?? []), value]);
  for (const group of byProject.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const [a, b] = [group[i]!, group[j]!];
        if (!overlaps(a, b)) continue;
        if (a.stackId !== b.stackId) {
          for (const [rest, cluster] of [
            [a, b],
            [b, a],
          ] as const) {
            if (rest.stackId === null && cluster.stackId !== null) {
              const set = otherStacks.get(rest.subscriptionId) ?? new Set<string>();
              otherStacks.set(rest.subscriptionId, set.add(cluster.stackId));
            }
          }
          continue;
        }
        add(conflicting, a.subscriptionId, b.subscriptionId);
        add(conflicting, b.subscriptionId, a.subscriptionId);
      }
    }
  }
  return entries.map((e) => {
    const others = conflicting.get(e.subscriptionId);
    const stacks = otherStacks.get(e.subscriptionId);
    if (!others) return stacks ? { ...e, otherStacks: [...stacks].sort() } : e;
    return {
      ...e,
      status: 'conflict',
      reasons: [
        ...e.reasons,
        `project ${e.projectId} is also metered by subscription(s) ${others.join(', ')} without distinct openstack_stack_id values`,
      ],
    };
  });
}
