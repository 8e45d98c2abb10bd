import { projectKey, type ProjectUsage, type RatedRow } from './rated-usage-pull.js';
import type { SyncTarget } from './subscription-sync.js';

/** One subscription to sync, with its project's rows. */
export interface TakenTarget {
  target: SyncTarget;
  /** Its project, as the pulled usage is keyed. */
  project: string;
  rows: readonly RatedRow[];
  /** No later target shares its project: the rows may go once this run is done with them. */
  lastOfProject: boolean;
}

/**
 * A sync's targets in order, each let go of as it is taken (`prepared.targets` is emptied at once): what a
 * run holds then shrinks as it goes (the registry's entries, the targets and, once their callers drop each
 * project's rows after its last subscription, the rows) instead of staying whole to its end.
 */
export function* takeTargets(prepared: {
  targets: SyncTarget[];
  usage: ProjectUsage;
}): Generator<TakenTarget> {
  const targets: Array<SyncTarget | undefined> = prepared.targets;
  prepared.targets = [];
  const left = new Map<string, number>();
  for (const t of targets) {
    if (!t) continue;
    const project = projectKey(t.entry.projectId);
    left.set(project, (left.get(project) ?? 0) + 1);
  }
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i];
    if (!target) continue;
    targets[i] = undefined;
    const project = projectKey(target.entry.projectId);
    const n = (left.get(project) ?? 1) - 1;
    left.set(project, n);
    yield { target, project, rows: prepared.usage.get(project) ?? [], lastOfProject: n === 0 };
  }
}
