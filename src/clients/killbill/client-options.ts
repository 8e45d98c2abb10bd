/** How a tenant's Kill Bill client is made, and what it reports about each call. */
export interface KillBillClientOptions {
  /** Base URL, without /1.0/kb. */
  url: string;
  username: string;
  password: string;
  /** The tenant every call is made for. */
  apiKey: string;
  apiSecret: string;
  /** X-Killbill-CreatedBy on writes. Default `killbill-openstack-bridge`. */
  createdBy?: string;
  /** Timeout of one call in ms. Default 20 000. */
  timeoutMs?: number;
  /**
   * Told after every call whether Kill Bill answered (null, whatever the status) or why it did not, so a
   * process can say once that Kill Bill is down and once that it is back, instead of once per call.
   */
  onReachability?: (noAnswer: string | null) => void;
  /** Told after every call how long it took and how Kill Bill answered, for request metrics. */
  onCall?: (call: KillBillCall) => void;
}

/** One Kill Bill call as reported to `onCall`. */
export interface KillBillCall {
  /** What the call does (`record usage`, `get account`): a fixed set, never an id. */
  operation: string;
  /** Undefined when Kill Bill gave no answer at all. */
  status?: number;
  durationMs: number;
}

export type RecordOutcome = 'recorded' | 'already-recorded';
