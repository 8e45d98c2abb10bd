/** The token's service catalog has no endpoint of a service type for the configured interface and region. */
export class CatalogEndpointNotFoundError extends Error {
  override readonly name: string = 'CatalogEndpointNotFoundError';
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
  override readonly name: string = 'RatingEndpointNotFoundError';

  constructor(wanted: { interface: string; region?: string }, available: string[]) {
    super('rating', wanted, available);
  }
}
