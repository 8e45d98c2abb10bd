import { parseRate, type Money } from '../metering/index.js';
import type { RedisClient } from '../jobs/redis-connection.js';
import type { RatedRow } from './rated-usage-pull.js';

/** Server id → the id of the stack (cluster) it belongs to. */
export type ServerStacks = ReadonlyMap<string, string>;

/**
 * A project's rows pulled by resource (`stack` holds CloudKitty's `id`: the Nova server id) turned into rows
 * by stack, as a pull grouped by a stack attribute gives them: each resource's row goes to its server's stack
 * (null when in none), and the rows of one period, type and stack are summed exactly into one. So the rest of
 * the sync (`ownsRow`, windows, the unattributed report) is the same whichever way stacks were found.
 */
export function rowsByStack(rows: readonly RatedRow[], serverStacks: ServerStacks): RatedRow[] {
  const sums = new Map<string, { row: RatedRow; sum: Money }>();
  for (const row of rows) {
    if (row.rate === null) continue;
    const stack = row.stack === null ? null : (serverStacks.get(row.stack) ?? null);
    const key = JSON.stringify([row.beginMs, row.type, stack]);
    const found = sums.get(key);
    if (found) found.sum = found.sum.plus(parseRate(row.rate));
    else
      sums.set(key, {
        row: { beginMs: row.beginMs, type: row.type, stack, rate: null },
        sum: parseRate(row.rate),
      });
  }
  // toFixed: never exponent notation, which a decimal this small would otherwise get.
  return [...sums.values()].map(({ row, sum }) => ({ ...row, rate: sum.toFixed() }));
}

/**
 * Every server the bridge has seen in a metered stack, per project, kept in Redis. Heat lists only a
 * stack's servers of now: once a server is removed, or the whole stack deleted (Heat then lists no
 * resources), its past usage would move to the project's subscription at the next recheck. A server never
 * changes stack, so what was seen stays true.
 */
export class ServerStackMemory {
  constructor(
    private readonly redis: Pick<RedisClient, 'hset' | 'hgetall'>,
    private readonly prefix: string,
  ) {}

  key(projectId: string): string {
    return `${this.prefix}:heat:server-stacks:${projectId}`;
  }

  async remember(projectId: string, seen: ServerStacks): Promise<void> {
    if (seen.size > 0) await this.redis.hset(this.key(projectId), Object.fromEntries(seen));
  }

  async recall(projectId: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.key(projectId))));
  }
}
