import { spanFromSubscription, type SubscriptionSpan } from '../metering/index.js';
import {
  FIELD,
  type RegistryProblem,
  type SubscriptionEntry,
  type UnmeteredMetric,
} from './metered-subscription.js';

/** The parts of Kill Bill's JSON the registry reads; kept narrow so the logic is testable without a server. */
export interface FieldView {
  name: string;
  value: string;
}
export interface SubscriptionView {
  subscriptionId: string;
  state?: string;
  startDate?: string | null;
  billingStartDate?: string | null;
  cancelledDate?: string | null;
  billingEndDate?: string | null;
  /** Kill Bill prefers it to the account's (junction's DefaultInternalBillingApi) once it is set. */
  billCycleDayLocal?: number;
}
export interface AccountView {
  accountId: string;
  billCycleDayLocal?: number;
  timeZone?: string;
  referenceTime?: string;
}

export interface AccountState {
  tenantApiKey: string;
  account: AccountView;
  accountFields: FieldView[];
  subscriptions: Array<{ subscription: SubscriptionView; fields: FieldView[] }>;
  /** Units the tenant's catalog declares; null when it has no catalog. */
  catalogUnits: ReadonlySet<string> | null;
  /** Metric type → unit, from configuration. */
  metricUnits: Readonly<Record<string, string>>;
}

export interface AccountResolution {
  entries: SubscriptionEntry[];
  problems: RegistryProblem[];
}

const PROJECT_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
const METRIC = /^[A-Za-z0-9_.-]+$/;

/** The billed span, by the one rule in src/metering; a subscription without one says why. */
function spanOf(sub: SubscriptionView, reasons: string[]): SubscriptionSpan | null {
  const startDate = sub.billingStartDate ?? sub.startDate;
  if (!startDate) {
    reasons.push('subscription has no start date');
    return null;
  }
  try {
    return spanFromSubscription({ ...sub, startDate });
  } catch (err) {
    reasons.push(`subscription dates are unusable: ${(err as Error).message}`);
    return null;
  }
}

const sameProject = (a: string, b: string) =>
  a.toLowerCase().replace(/-/g, '') === b.toLowerCase().replace(/-/g, '');

/** A field's single value; two different values under one name are an error, not a guess. */
function fieldValue(fields: FieldView[], name: string): { value?: string; conflict?: string[] } {
  const values = [...new Set(fields.filter((f) => f.name === name).map((f) => f.value.trim()))];
  if (values.length > 1) return { conflict: values };
  return { value: values[0] };
}

/** One subscription being resolved: why it is not metered (reasons), and what the operator must hear (problems). */
interface Resolving {
  state: AccountState;
  sub: SubscriptionView;
  fields: FieldView[];
  reasons: string[];
  problems: RegistryProblem[];
  /** Fields already reported as having several values, so they are not reported again as "not set". */
  ambiguous: Set<string>;
}

/** A problem the operator should hear of that does not by itself keep the subscription from being metered. */
function warn(r: Resolving, field: string | undefined, value: string | undefined, message: string): void {
  r.problems.push({
    accountId: r.state.account.accountId,
    subscriptionId: r.sub.subscriptionId,
    field,
    value,
    message,
  });
}

/** A problem that is also a reason the subscription is not metered. */
function report(r: Resolving, field: string | undefined, value: string | undefined, message: string): void {
  r.reasons.push(message);
  warn(r, field, value, message);
}

/** A field's value for the subscription: its own, else its account's; several values are reported, not guessed. */
function pick(r: Resolving, name: string): string | undefined {
  const own = fieldValue(r.fields, name);
  const inherited = fieldValue(r.state.accountFields, name);
  const chosen = own.value !== undefined || own.conflict ? own : inherited;
  if (chosen.conflict) {
    r.ambiguous.add(name);
    report(r, name, chosen.conflict.join(' | '), `${name} has ${chosen.conflict.length} different values`);
    return undefined;
  }
  return chosen.value;
}

/** The fields that decide metering, as written, in the order their problems are reported. */
interface MeteringFields {
  projectText: string | undefined;
  /** The field the project was read from, named in its problems. */
  projectField: string;
  enabledText: string | undefined;
  metricsText: string | undefined;
  stackId: string | null;
  stackName: string | null;
}

function readMeteringFields(r: Resolving): MeteringFields {
  const concertimProject = pick(r, FIELD.concertimProjectId);
  const ownProject = pick(r, FIELD.projectId);
  if (
    ownProject !== undefined &&
    concertimProject !== undefined &&
    !sameProject(ownProject, concertimProject)
  ) {
    // Not blocking: the bridge's own field is the deliberate choice; the operator should still hear of it.
    warn(
      r,
      FIELD.concertimProjectId,
      concertimProject,
      `${FIELD.projectId} (${ownProject}) and ${FIELD.concertimProjectId} (${concertimProject}) differ; ${FIELD.projectId} is used`,
    );
  }
  return {
    projectText: ownProject ?? concertimProject,
    projectField:
      ownProject === undefined && concertimProject !== undefined ? FIELD.concertimProjectId : FIELD.projectId,
    // concertim links every account it creates to its project and means it to be billed.
    enabledText: pick(r, FIELD.enabled) ?? (concertimProject !== undefined ? 'true' : undefined),
    metricsText: pick(r, FIELD.metrics),
    stackId: pick(r, FIELD.stackId) ?? null,
    stackName: pick(r, FIELD.stackName) ?? null,
  };
}

function meteringEnabled(r: Resolving, enabledText: string | undefined): boolean {
  if (enabledText === undefined) {
    if (r.reasons.length === 0) r.reasons.push(`${FIELD.enabled} is not set`);
  } else if (/^true$/i.test(enabledText)) {
    return true;
  } else if (!/^false$/i.test(enabledText)) {
    report(r, FIELD.enabled, enabledText, `${FIELD.enabled} must be true or false`);
  } else {
    r.reasons.push(`${FIELD.enabled} is false`);
  }
  return false;
}

/** The Keystone project id, lower case; null when the field is missing or not an id. */
function projectOf(r: Resolving, fields: MeteringFields, enabled: boolean): string | null {
  const { projectText, projectField } = fields;
  if (projectText !== undefined) {
    if (PROJECT_ID.test(projectText)) return projectText.toLowerCase();
    report(
      r,
      projectField,
      projectText,
      `${projectField} must be a Keystone project id (32 hex digits or a UUID)`,
    );
  } else if (enabled && !r.ambiguous.has(FIELD.projectId)) {
    report(r, FIELD.projectId, undefined, `${FIELD.projectId} is not set`);
  }
  return null;
}

/** Each metric asked for (every configured one when the field is not set): its Kill Bill unit, or why none. */
function unitsOf(r: Resolving, metricsText: string | undefined) {
  const { metricUnits, catalogUnits } = r.state;
  const units: Record<string, string> = {};
  const unmetered: UnmeteredMetric[] = [];
  const metrics =
    metricsText === undefined
      ? Object.keys(metricUnits)
      : metricsText
          .split(',')
          .map((m) => m.trim())
          .filter((m) => m !== '');
  for (const metric of metrics) {
    const unit = metricUnits[metric];
    if (!METRIC.test(metric)) unmetered.push({ metric, reason: 'not a CloudKitty metric type name' });
    else if (!unit)
      unmetered.push({ metric, reason: 'no Kill Bill unit is configured for it (metering.metricUnits)' });
    else if (!catalogUnits)
      unmetered.push({ metric, reason: `the tenant has no catalog, so unit ${unit} is unknown` });
    else if (!catalogUnits.has(unit))
      unmetered.push({ metric, reason: `the tenant's catalog has no unit ${unit}` });
    else units[metric] = unit;
  }
  return { units, unmetered };
}

/** Unmetered metrics matter only to a subscription meant to be metered. */
function reportUnmetered(r: Resolving, units: Record<string, string>, unmetered: UnmeteredMetric[]): void {
  for (const u of unmetered)
    warn(r, FIELD.metrics, u.metric, `metric ${u.metric} is not metered: ${u.reason}`);
  if (Object.keys(units).length === 0) r.reasons.push('no metric can be billed');
}

/** The billed span as ISO strings, and whether the subscription's state lets it be billed. */
function billedSpan(r: Resolving) {
  const { sub } = r;
  const span = spanOf(sub, r.reasons);
  const since = span?.start.toISOString() ?? null;
  const until = span?.end?.toISOString() ?? null;
  const billable =
    sub.state === 'ACTIVE' || ((sub.state === 'CANCELLED' || sub.state === 'EXPIRED') && until !== null);
  if (!billable) r.reasons.push(`subscription is ${sub.state ?? 'in an unknown state'}`);
  return { since, until, billable };
}

function resolveSubscription(r: Resolving): SubscriptionEntry {
  const { state, sub, reasons } = r;
  const { account } = state;
  const fields = readMeteringFields(r);
  const enabled = meteringEnabled(r, fields.enabledText);
  const projectId = projectOf(r, fields, enabled);
  const { units, unmetered } = unitsOf(r, fields.metricsText);
  if (enabled) reportUnmetered(r, units, unmetered);
  const { since, until, billable } = billedSpan(r);
  const metered =
    enabled &&
    projectId !== null &&
    Object.keys(units).length > 0 &&
    billable &&
    since !== null &&
    reasons.length === 0;
  return {
    tenantApiKey: state.tenantApiKey,
    accountId: account.accountId,
    subscriptionId: sub.subscriptionId,
    projectId,
    stackId: fields.stackId,
    stackName: fields.stackName,
    units,
    unmetered,
    since,
    until,
    billCycleDay: sub.billCycleDayLocal || account.billCycleDayLocal || 0,
    timeZone: account.timeZone ?? 'UTC',
    referenceTime: account.referenceTime ? new Date(account.referenceTime).toISOString() : null,
    status: metered ? 'metered' : 'not-metered',
    reasons,
  };
}

/**
 * Decides, from Kill Bill's current state of one account, which of its subscriptions are metered, for
 * which project and metrics, over which span. A subscription's own field overrides its account's.
 * Depends only on the state given, never on the order events arrived in.
 */
export function resolveAccount(state: AccountState): AccountResolution {
  const problems: RegistryProblem[] = [];
  // Kill Bill lists an account's bundles in no stable order (one read to the next, per account or paged):
  // the registry's record of an account, problems included, must not depend on which read it came from.
  const idOf = (s: AccountState['subscriptions'][number]) => s.subscription.subscriptionId;
  const subscriptions = [...state.subscriptions].sort((a, b) =>
    idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0,
  );
  const entries = subscriptions.map(({ subscription: sub, fields }) =>
    resolveSubscription({ state, sub, fields, reasons: [], problems, ambiguous: new Set() }),
  );
  return { entries, problems };
}
