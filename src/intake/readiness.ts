import type { RequestHandler } from 'express';

export interface ReadinessCheck {
  /** How /readyz names the dependency: `redis`, `killbill callback`. */
  name: string;
  /** What is wrong, said for a person; undefined when all is well. */
  check: () => Promise<string | undefined>;
}

export interface ReadinessReport {
  ready: boolean;
  /** The names of the failing checks, in the order they were given. */
  down: string[];
  /** Every check by name: `ok`, or what is wrong. */
  checks: Record<string, string>;
}

/** Runs every check at once; a check that throws counts as down, with its message. */
export async function readinessReport(readiness: ReadinessCheck[]): Promise<ReadinessReport> {
  const results = await Promise.all(
    readiness.map(async (r) => {
      const problem = await r.check().catch((err: unknown) => (err as Error).message || 'check failed');
      return [r.name, problem ?? 'ok'] as const;
    }),
  );
  const down = results.filter(([, said]) => said !== 'ok').map(([name]) => name);
  return { ready: down.length === 0, down, checks: Object.fromEntries(results) };
}

/**
 * GET /readyz: 200 or 503 with the report. A 503 must say which dependency holds it back and why, or the
 * operator is left guessing.
 */
export function readinessHandler(readiness: ReadinessCheck[]): RequestHandler {
  return async (_req, res) => {
    const report = await readinessReport(readiness);
    res.status(report.ready ? 200 : 503).json(report);
  };
}
