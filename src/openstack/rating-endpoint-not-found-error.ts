/** The token's service catalog has no `rating` (CloudKitty) endpoint for the configured interface and region. */
export class RatingEndpointNotFoundError extends Error {
  override readonly name = 'RatingEndpointNotFoundError';
  readonly interface: string;
  readonly region: string | undefined;
  /** What the catalog did offer for `rating`, as `interface@region`, to make a misconfiguration obvious. */
  readonly available: string[];

  constructor(wanted: { interface: string; region?: string }, available: string[]) {
    const where = `interface ${wanted.interface}${wanted.region ? `, region ${wanted.region}` : ''}`;
    const offer = available.length ? `it has ${available.join(', ')}` : 'it has no rating service';
    super(`the Keystone catalog has no rating endpoint for ${where}; ${offer}`);
    this.interface = wanted.interface;
    this.region = wanted.region;
    this.available = available;
  }
}
