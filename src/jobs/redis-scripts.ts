import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The commands a script needs; a Cluster connection has them too. */
export type ScriptRedis = Pick<Redis, 'eval' | 'evalsha'>;

/**
 * Lua scripts sent whole once, then named by their SHA1 (`EVALSHA`): the text is most of a call's bytes,
 * which the caller would otherwise build and write, and Redis hash, on every call (BENCHMARKS.md). A Redis
 * that no longer has a script (restarted, flushed, another Cluster node) answers NOSCRIPT without running
 * anything, and gets the text again. An ACL user therefore needs both `EVAL` and `EVALSHA` (docs/redis.md).
 */
export class RedisScripts {
  /** Each script's SHA1, once it has been sent whole. */
  private readonly sent = new Map<string, string>();

  constructor(private readonly redis: ScriptRedis) {}

  /** Runs `script` on `keys` and `args`: its reply, or the error Redis or the connection gave. */
  run(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    const sha = this.sent.get(script);
    if (sha === undefined) {
      this.sent.set(script, createHash('sha1').update(script).digest('hex'));
      // Until one whole send is answered, Redis may not hold it (a connection lost on the way): send it whole
      // again next time rather than be refused NOSCRIPT first. Refused or not, an answer means Redis loaded it.
      return this.redis.eval(script, keys.length, ...keys, ...args).catch((err: unknown) => {
        if (!isReplyError(err)) this.sent.delete(script);
        throw err;
      });
    }
    return this.redis.evalsha(sha, keys.length, ...keys, ...args).catch((err: unknown) => {
      if (!isReplyError(err) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(script, keys.length, ...keys, ...args);
    });
  }
}

/** An error Redis answered (the script ran and failed, or was refused), not one of the connection. */
function isReplyError(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReplyError';
}
