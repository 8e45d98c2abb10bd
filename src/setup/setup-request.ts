import { SetupInputError } from '../errors/index.js';

/** What `bridge setup` was asked to do, checked before any call to Kill Bill. */
export interface SetupRequest {
  createTenant: boolean;
  /** Path of the catalog file to upload. */
  catalogPath: string;
  dryRun: boolean;
  /** Present when an account is to be linked to an OpenStack project. */
  account?: AccountLink;
}

export interface AccountLink {
  accountId: string;
  /** Lower case, as the registry normalises it. */
  projectId: string;
  /** Metric types to bill; undefined keeps the account's current choice (all configured ones if none). */
  metrics?: string[];
}

/** The command's input as given, before checking. */
export interface SetupInput {
  createTenant?: boolean;
  catalog?: string;
  dryRun?: boolean;
  account?: string;
  project?: string;
  metrics?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// The same rules as the registry applies to the fields (src/registry/account-resolution.ts).
const PROJECT_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
const METRIC = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks the input against the configured metric units. A metric without a unit would be written to the
 * account and then silently never billed, so it is refused here instead.
 */
export function parseSetupInput(
  input: SetupInput,
  metricUnits: Readonly<Record<string, string>>,
  defaultCatalogPath: string,
): SetupRequest {
  const request: SetupRequest = {
    createTenant: input.createTenant === true,
    catalogPath: input.catalog ?? defaultCatalogPath,
    dryRun: input.dryRun === true,
  };
  const { account, project, metrics } = input;
  if (account === undefined && project === undefined && metrics === undefined) return request;
  if (account === undefined) {
    throw new SetupInputError('account fields', '--project and --metrics need --account ACCOUNT_ID');
  }
  if (!UUID.test(account.trim())) {
    throw new SetupInputError(
      'account fields',
      `--account "${account}" is not a Kill Bill account id (a UUID)`,
    );
  }
  if (project === undefined)
    throw new SetupInputError('account fields', '--account needs --project PROJECT_ID');
  if (!PROJECT_ID.test(project.trim())) {
    throw new SetupInputError(
      'account fields',
      `--project "${project}" is not a Keystone project id (32 hex digits or a UUID)`,
    );
  }
  request.account = { accountId: account.trim().toLowerCase(), projectId: project.trim().toLowerCase() };
  if (metrics !== undefined) request.account.metrics = parseMetrics(metrics, metricUnits);
  return request;
}

function parseMetrics(text: string, metricUnits: Readonly<Record<string, string>>): string[] {
  const configured = Object.keys(metricUnits);
  const metrics = [
    ...new Set(
      text
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    ),
  ];
  if (metrics.length === 0) {
    throw new SetupInputError('account fields', `--metrics is empty; choose from ${configured.join(', ')}`);
  }
  for (const metric of metrics) {
    if (!METRIC.test(metric)) {
      throw new SetupInputError(
        'account fields',
        `--metrics: "${metric}" is not a CloudKitty metric type name`,
      );
    }
    if (!metricUnits[metric]) {
      throw new SetupInputError(
        'account fields',
        `--metrics: no Kill Bill unit is configured for "${metric}" (metering.metricUnits has ${configured.join(', ')})`,
      );
    }
  }
  return metrics;
}
