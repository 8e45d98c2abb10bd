import { BridgeError } from './bridge-error.js';

/**
 * Configuration or input the operator must fix: a setting, a command's arguments, a file, a custom field.
 * Not retryable: the same input fails the same way until someone changes it.
 */
export class InputError extends BridgeError {
  readonly retryable = false;
}

/** Why a `redis.url` cannot be used; the message names no secret. */
export class RedisUrlError extends InputError {}

/** A tenant named by a job or a registry entry that the configuration does not hold (any more). */
export class TenantNotConfiguredError extends InputError {
  constructor(tenant: string) {
    super(`tenant ${tenant} is not configured`, { ids: { tenant } });
  }
}

/** Input `bridge setup` refuses; `step` is the step it would have failed in. */
export class SetupInputError extends InputError {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
  }
}

/** A catalog file the bridge will not send to Kill Bill; `message` is one line. */
export class CatalogFileError extends InputError {}

/** An account's custom field holds values `bridge setup` cannot choose between: the operator must. */
export class FieldConflictError extends InputError {}

/** The token's service catalog has no endpoint of a service type for the configured interface and region. */
export class CatalogEndpointNotFoundError extends InputError {
  /** The catalog's service type: `rating` (CloudKitty), `orchestration` (Heat). */
  readonly serviceType: string;
  readonly interface: string;
  readonly region: string | undefined;
  /** What the catalog did offer for that type, as `interface@region`, to make a misconfiguration obvious. */
  readonly available: string[];

  constructor(serviceType: string, wanted: { interface: string; region?: string }, available: string[]) {
    const where = `interface ${wanted.interface}${wanted.region ? `, region ${wanted.region}` : ''}`;
    const offer = available.length ? `it has ${available.join(', ')}` : `it has no ${serviceType} service`;
    super(`the Keystone catalog has no ${serviceType} endpoint for ${where}; ${offer}`);
    this.serviceType = serviceType;
    this.interface = wanted.interface;
    this.region = wanted.region;
    this.available = available;
  }
}

/** The token's service catalog has no `rating` (CloudKitty) endpoint for the configured interface and region. */
export class RatingEndpointNotFoundError extends CatalogEndpointNotFoundError {
  constructor(wanted: { interface: string; region?: string }, available: string[]) {
    super('rating', wanted, available);
  }
}

/** A subscription names a Heat stack that Heat places in another project than the subscription's. */
export class StackProjectMismatchError extends InputError {
  constructor(stackId: string, stackProject: string, project: string) {
    super(`Heat stack ${stackId} is in project ${stackProject}, not in ${project}`);
  }
}

/**
 * A notification body the intake could not read, typed as Express's body parser types its errors
 * (`entity.too.large`, `entity.parse.failed`, …) so that one handler answers both with `status`.
 */
export class BodyReadError extends InputError {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}
