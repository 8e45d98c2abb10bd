import type { RedisClient } from '../jobs/redis-connection.js';
import { RedisScripts } from '../jobs/redis-scripts.js';

export interface LedgerBatchOptions {
  /** Most calls in one write: a batch this full goes at the end of the turn, lingering or not. Default 64. */
  maxBatch?: number;
  /** Longest a lingering call waits for others to share its write. Default 100 ms. */
  lingerMs?: number;
}

interface WaitingCall {
  script: string;
  keys: readonly string[];
  args: readonly string[];
  resolve: (reply: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * The ledger's scripts of subscriptions syncing side by side, sent to Redis together. On this kind of machine a
 * round trip to Redis costs the caller far more CPU than the script costs Redis (BENCHMARKS.md), and a sync
 * makes three a subscription: batched, N subscriptions locked and read together cost one write and one read.
 *
 * Every call made in one turn of the event loop goes out in one write when the turn ends. A call that may
 * linger (one of a `bridge sync` run, which has nothing else to do meanwhile) waits up to `lingerMs` for others
 * to share its write, unless every run that {@link join}ed is waiting here already (nothing more would come) or
 * the batch is full: fewer round trips for a little of Kill Bill's time, as the run's slot waits with it. Each call still gets its own answer:
 * a lock lost, a script refused, fails that call alone; a connection that fails fails each call.
 */
export class LedgerBatch {
  private waiting: WaitingCall[] = [];
  private endOfTurn = false;
  private lingering: NodeJS.Timeout | undefined;
  /** Runs that linger: when all of them wait here, the batch goes at once. */
  private joined = 0;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  /** Scripts go whole once, then by SHA1; a call that is not to wait for a batch goes here directly. */
  readonly scripts: RedisScripts;

  constructor(
    private readonly redis: RedisClient,
    options: LedgerBatchOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 64;
    this.lingerMs = options.lingerMs ?? 100;
    this.scripts = new RedisScripts(redis);
  }

  /** Counts a run whose calls may linger until it leaves (the returned function; calling it twice is harmless). */
  join(): () => void {
    this.joined++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.joined--;
      if (this.waiting.length > 0 && this.waiting.length >= this.joined) this.sendAtEndOfTurn();
    };
  }

  /** `EVAL script` in the next write; its reply, or its own error. */
  eval(script: string, keys: readonly string[], args: readonly string[], linger = false): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ script, keys, args, resolve, reject });
      const full = this.waiting.length >= this.maxBatch || this.waiting.length >= this.joined;
      if (!linger || full) this.sendAtEndOfTurn();
      else this.lingering ??= setTimeout(() => this.send(), this.lingerMs);
    });
  }

  private sendAtEndOfTurn(): void {
    if (this.endOfTurn) return;
    this.endOfTurn = true;
    // setImmediate runs after the poll phase: every answer read in this turn has made its call by then.
    setImmediate(() => this.send());
  }

  private send(): void {
    this.endOfTurn = false;
    clearTimeout(this.lingering);
    this.lingering = undefined;
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    // Plain commands with the socket corked, not an ioredis pipeline: the same single write to Redis, and each
    // call gets its own answer as before, but a pipeline keeps its commands reachable long enough for V8 to move
    // nearly all of them to the old generation, whose garbage then grows the heap by hundreds of MB at 100,000
    // subscriptions (BENCHMARKS.md); it also costs more CPU. A Cluster has no one socket: its calls go uncorked.
    const socket = 'stream' in this.redis ? this.redis.stream : undefined;
    socket?.cork();
    try {
      for (const call of batch) this.evalNow(call);
    } finally {
      socket?.uncork();
    }
  }

  /** Written to the (corked) socket now; whatever goes wrong, even a connection refusing commands, fails this call alone. */
  private evalNow(call: WaitingCall): void {
    let reply: Promise<unknown>;
    try {
      reply = this.scripts.run(call.script, call.keys, call.args);
    } catch (err) {
      call.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    reply.then(call.resolve, call.reject);
  }
}
