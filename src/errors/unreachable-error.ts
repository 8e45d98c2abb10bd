import { UpstreamError } from './upstream-errors.js';

/** The services the bridge cannot work without, as messages and /readyz name them. */
export type Dependency = 'redis' | 'killbill' | 'cloudkitty' | 'keystone';

export const DEPENDENCY_LABEL: Record<Dependency, string> = {
  redis: 'Redis',
  killbill: 'Kill Bill',
  cloudkitty: 'CloudKitty',
  keystone: 'Keystone',
};

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
}

/** The short cause of a network failure, e.g. `connect ECONNREFUSED`, without the address already named. */
export function networkReason(err: unknown): string {
  const e = (err ?? {}) as SystemError;
  if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code))
    return typeof e.syscall === 'string' ? `${e.syscall} ${e.code}` : e.code;
  const text = typeof e.message === 'string' ? e.message : String(err);
  // fetch says "fetch failed (ECONNREFUSED)": the code is the part worth reading.
  const code = /\((E[A-Z_]+)\)$/.exec(text);
  return (code ? code[1]! : text).replace(/\/\/[^/@\s]*@/g, '//');
}

/** A service that gave no answer, said in one line a person can act on. Retryable: it may answer later. */
export class UnreachableError extends UpstreamError {
  readonly retryable = true;

  constructor(
    readonly dependency: Dependency,
    /** Already masked. */
    readonly url: string,
    readonly reason: string,
  ) {
    super(`${DEPENDENCY_LABEL[dependency]} at ${url} is unreachable (${reason})`);
  }
}
