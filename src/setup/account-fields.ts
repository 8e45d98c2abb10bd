import { FieldConflictError } from '../errors/index.js';
import { FIELD } from '../registry/metered-subscription.js';
import type { AccountLink } from './setup-request.js';

/** An account custom field as Kill Bill returns it, narrowed to what setup reads. */
export interface ExistingField {
  customFieldId: string;
  name: string;
  value: string;
}

/** The writes that bring the account's metering fields to the wanted values; empty lists mean none. */
export interface FieldChanges {
  add: Array<{ name: string; value: string }>;
  update: Array<{ customFieldId: string; name: string; value: string }>;
  /** Further fields of the same name: two values under one name are a conflict for the registry. */
  remove: Array<{ customFieldId: string; name: string; value: string }>;
}

function metricSet(value: string): string {
  return [
    ...new Set(
      value
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean),
    ),
  ]
    .sort()
    .join(',');
}

/** Equal as the registry reads them (src/registry/account-resolution.ts), so no needless write happens. */
const SAME: Record<string, (a: string, b: string) => boolean> = {
  [FIELD.enabled]: (a, b) => a.trim().toLowerCase() === b.trim().toLowerCase(),
  [FIELD.projectId]: (a, b) => a.trim().toLowerCase() === b.trim().toLowerCase(),
  [FIELD.metrics]: (a, b) => metricSet(a) === metricSet(b),
};

/**
 * The metering fields to set on the account. Without `--metrics` the account keeps its current choice,
 * and gets every configured metric only when it has none.
 */
export function wantedFields(
  link: AccountLink,
  existing: readonly ExistingField[],
  configuredMetrics: readonly string[],
): Array<{ name: string; value: string }> {
  let metrics = link.metrics?.join(',');
  if (metrics === undefined) {
    const current = [
      ...new Set(existing.filter((f) => f.name === FIELD.metrics).map((f) => metricSet(f.value))),
    ];
    if (current.length > 1) {
      throw new FieldConflictError(
        `${FIELD.metrics} has ${current.length} different values (${current.join(' | ')}); choose with --metrics`,
      );
    }
    metrics = existing.find((f) => f.name === FIELD.metrics)?.value.trim() ?? configuredMetrics.join(',');
  }
  return [
    { name: FIELD.enabled, value: 'true' },
    { name: FIELD.projectId, value: link.projectId },
    { name: FIELD.metrics, value: metrics },
  ];
}

export function planFieldChanges(
  wanted: ReadonlyArray<{ name: string; value: string }>,
  existing: readonly ExistingField[],
): FieldChanges {
  const changes: FieldChanges = { add: [], update: [], remove: [] };
  for (const { name, value } of wanted) {
    const same = SAME[name] ?? ((a: string, b: string) => a === b);
    const present = existing.filter((f) => f.name === name);
    if (present.length === 0) {
      changes.add.push({ name, value });
      continue;
    }
    const keep = present.find((f) => same(f.value, value)) ?? present[0]!;
    if (!same(keep.value, value)) changes.update.push({ customFieldId: keep.customFieldId, name, value });
    for (const other of present) {
      if (other !== keep && !same(other.value, value)) changes.remove.push(other);
    }
  }
  return changes;
}

export function hasChanges(c: FieldChanges): boolean {
  return c.add.length + c.update.length + c.remove.length > 0;
}

/** One line, e.g. `add openstack_project_id=…; update openstack_metering_enabled=true`. */
export function describeFieldChanges(c: FieldChanges): string {
  const parts = [
    ...c.add.map((f) => `add ${f.name}=${f.value}`),
    ...c.update.map((f) => `update ${f.name}=${f.value}`),
    ...c.remove.map((f) => `remove ${f.name}=${f.value}`),
  ];
  return parts.join('; ');
}
