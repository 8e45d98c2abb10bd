import type { SubscriptionEntry } from './metered-subscription.js';

function overlaps(a: SubscriptionEntry, b: SubscriptionEntry): boolean {
  const aEnd = a.until ?? '9999';
  const bEnd = b.until ?? '9999';
  return (a.since ?? '') < bEnd && (b.since ?? '') < aEnd;
}

/**
 * Two metered subscriptions that meter the same project over overlapping spans, without stack ids that
 * tell their usage apart, would bill the project twice. Both are marked `conflict` and neither is metered
 * until someone fixes the fields; their windows stay pending, so nothing is lost meanwhile.
 */
export function markConflicts(entries: SubscriptionEntry[]): SubscriptionEntry[] {
  const byProject = new Map<string, SubscriptionEntry[]>();
  for (const e of entries) {
    if (e.status !== 'metered' || !e.projectId) continue;
    const key = `${e.tenantApiKey}\0${e.projectId}`;
    byProject.set(key, [...(byProject.get(key) ?? []), e]);
  }
  const conflicting = new Map<string, string[]>();
  for (const group of byProject.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const [a, b] = [group[i]!, group[j]!];
        const distinct = a.stackId !== null && b.stackId !== null && a.stackId !== b.stackId;
        if (distinct || !overlaps(a, b)) continue;
        conflicting.set(a.subscriptionId, [...(conflicting.get(a.subscriptionId) ?? []), b.subscriptionId]);
        conflicting.set(b.subscriptionId, [...(conflicting.get(b.subscriptionId) ?? []), a.subscriptionId]);
      }
    }
  }
  return entries.map((e) => {
    const others = conflicting.get(e.subscriptionId);
    if (!others) return e;
    return {
      ...e,
      status: 'conflict',
      reasons: [
        ...e.reasons,
        `project ${e.projectId} is also metered by subscription(s) ${others.join(', ')} without distinct ${'openstack_stack_id'} values`,
      ],
    };
  });
}
