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

/**
 * Decides, from Kill Bill's current state of one account, which of its subscriptions are metered, for
 * which project and metrics, over which span. A subscription's own field overrides its account's.
 * Depends only on the state given, never on the order events arrived in.
 */
export function resolveAccount(state: AccountState): AccountResolution {
  const { account, tenantApiKey } = state;
  const problems: RegistryProblem[] = [];
  const entries = state.subscriptions.map(({ subscription: sub, fields }) => {
    const reasons: string[] = [];
    const report = (field: string | undefined, value: string | undefined, message: string) => {
      reasons.push(message);
      problems.push({
        accountId: account.accountId,
        subscriptionId: sub.subscriptionId,
        field,
        value,
        message,
      });
    };
    // Fields already reported as having several values, so they are not reported again as "not set".
    const ambiguous = new Set<string>();
    const pick = (name: string): string | undefined => {
      const own = fieldValue(fields, name);
      const inherited = fieldValue(state.accountFields, name);
      const chosen = own.value !== undefined || own.conflict ? own : inherited;
      if (chosen.conflict) {
        ambiguous.add(name);
        report(name, chosen.conflict.join(' | '), `${name} has ${chosen.conflict.length} different values`);
        return undefined;
      }
      return chosen.value;
    };

    const concertimProject = pick(FIELD.concertimProjectId);
    const ownProject = pick(FIELD.projectId);
    if (
      ownProject !== undefined &&
      concertimProject !== undefined &&
      !sameProject(ownProject, concertimProject)
    ) {
      // Not blocking: the bridge's own field is the deliberate choice; the operator should still hear of it.
      problems.push({
        accountId: account.accountId,
        subscriptionId: sub.subscriptionId,
        field: FIELD.concertimProjectId,
        value: concertimProject,
        message: `${FIELD.projectId} (${ownProject}) and ${FIELD.concertimProjectId} (${concertimProject}) differ; ${FIELD.projectId} is used`,
      });
    }
    const projectText = ownProject ?? concertimProject;
    const projectField =
      ownProject === undefined && concertimProject !== undefined ? FIELD.concertimProjectId : FIELD.projectId;
    // concertim links every account it creates to its project and means it to be billed.
    const enabledText = pick(FIELD.enabled) ?? (concertimProject !== undefined ? 'true' : undefined);
    const metricsText = pick(FIELD.metrics);
    const stackId = pick(FIELD.stackId) ?? null;
    const stackName = pick(FIELD.stackName) ?? null;

    let enabled = false;
    if (enabledText === undefined) {
      if (reasons.length === 0) reasons.push(`${FIELD.enabled} is not set`);
    } else if (/^true$/i.test(enabledText)) {
      enabled = true;
    } else if (!/^false$/i.test(enabledText)) {
      report(FIELD.enabled, enabledText, `${FIELD.enabled} must be true or false`);
    } else {
      reasons.push(`${FIELD.enabled} is false`);
    }

    let projectId: string | null = null;
    if (projectText !== undefined) {
      if (PROJECT_ID.test(projectText)) projectId = projectText.toLowerCase();
      else
        report(
          projectField,
          projectText,
          `${projectField} must be a Keystone project id (32 hex digits or a UUID)`,
        );
    } else if (enabled && !ambiguous.has(FIELD.projectId)) {
      report(FIELD.projectId, undefined, `${FIELD.projectId} is not set`);
    }

    const units: Record<string, string> = {};
    const unmetered: UnmeteredMetric[] = [];
    const metrics =
      metricsText === undefined
        ? Object.keys(state.metricUnits)
        : metricsText
            .split(',')
            .map((m) => m.trim())
            .filter((m) => m !== '');
    for (const metric of metrics) {
      const unit = state.metricUnits[metric];
      if (!METRIC.test(metric)) unmetered.push({ metric, reason: 'not a CloudKitty metric type name' });
      else if (!unit)
        unmetered.push({ metric, reason: 'no Kill Bill unit is configured for it (metering.metricUnits)' });
      else if (!state.catalogUnits)
        unmetered.push({ metric, reason: `the tenant has no catalog, so unit ${unit} is unknown` });
      else if (!state.catalogUnits.has(unit))
        unmetered.push({ metric, reason: `the tenant's catalog has no unit ${unit}` });
      else units[metric] = unit;
    }
    if (enabled) {
      for (const u of unmetered) {
        problems.push({
          accountId: account.accountId,
          subscriptionId: sub.subscriptionId,
          field: FIELD.metrics,
          value: u.metric,
          message: `metric ${u.metric} is not metered: ${u.reason}`,
        });
      }
      if (Object.keys(units).length === 0) reasons.push('no metric can be billed');
    }

    const span = spanOf(sub, reasons);
    const since = span?.start.toISOString() ?? null;
    const until = span?.end?.toISOString() ?? null;
    const billable =
      sub.state === 'ACTIVE' || ((sub.state === 'CANCELLED' || sub.state === 'EXPIRED') && until !== null);
    if (!billable) reasons.push(`subscription is ${sub.state ?? 'in an unknown state'}`);

    const metered =
      enabled &&
      projectId !== null &&
      Object.keys(units).length > 0 &&
      billable &&
      since !== null &&
      reasons.length === 0;
    const entry: SubscriptionEntry = {
      tenantApiKey,
      accountId: account.accountId,
      subscriptionId: sub.subscriptionId,
      projectId,
      stackId,
      stackName,
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
    return entry;
  });
  return { entries, problems };
}
