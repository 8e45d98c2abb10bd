import type { PhaseTally } from './load-generator.js';

export interface ScenarioRow {
  scenario: string;
  tally: PhaseTally;
  /** This scenario's req/s over the baseline's, both from this run; undefined for the baseline itself. */
  ratio?: number;
  /** CPU per request answered (warm-up included), in microseconds: the bench's process, and redis-server. */
  cpuPerRequestUs?: { process: number; redis: number };
}

/** Completed 2xx requests per second. */
export function requestsPerSecond(tally: PhaseTally): number {
  return tally.elapsedMs > 0 ? tally.ok / (tally.elapsedMs / 1000) : 0;
}

/** One scenario's rounds as if they had been one phase: counts and time add up, latencies pool. */
export function mergeTallies(tallies: PhaseTally[]): PhaseTally {
  const merged: PhaseTally = { ok: 0, errors: 0, errorKinds: {}, elapsedMs: 0, latenciesMs: [] };
  for (const t of tallies) {
    merged.ok += t.ok;
    merged.errors += t.errors;
    merged.elapsedMs += t.elapsedMs;
    for (const [kind, n] of Object.entries(t.errorKinds)) {
      merged.errorKinds[kind] = (merged.errorKinds[kind] ?? 0) + n;
    }
    for (const ms of t.latenciesMs) merged.latenciesMs.push(ms);
  }
  return merged;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function errorsCell(tally: PhaseTally): string {
  if (tally.errors === 0) return '0';
  const kinds = Object.entries(tally.errorKinds)
    .map(([kind, n]) => `${kind}:${n}`)
    .join(' ');
  return `${tally.errors} (${kinds})`;
}

/** A plain-text table, columns padded to their widest cell; numbers right-aligned. */
export function printTable(rows: ScenarioRow[]): void {
  const header = [
    'scenario',
    'requests',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'ratio',
    'cpu µs/req',
    'redis µs/req',
  ];
  const cells = rows.map(({ scenario, tally, ratio, cpuPerRequestUs }) => {
    const sorted = Float64Array.from(tally.latenciesMs).sort();
    return [
      scenario,
      String(tally.ok),
      requestsPerSecond(tally).toFixed(0),
      percentile(sorted, 50).toFixed(2),
      percentile(sorted, 99).toFixed(2),
      errorsCell(tally),
      ratio === undefined ? '-' : ratio.toFixed(2),
      cpuPerRequestUs ? cpuPerRequestUs.process.toFixed(0) : '-',
      cpuPerRequestUs ? cpuPerRequestUs.redis.toFixed(0) : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}
