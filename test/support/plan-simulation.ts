/**
 * One subscription's syncs without servers, for the planner's property tests: a CloudKitty whose rates change
 * (re-rating, late data), a ledger carried out the way SubscriptionSync carries a plan out (writes, then each
 * revision confirmed; a crash leaves the rest pending and the next run resends it first), and the ranges
 * syncRange gives new runs, rechecks and backfills.
 */
import {
  alignWindowStart,
  billingCycleOf,
  billingPeriodRelativeTo,
  type WindowSize,
} from '../../src/metering/index.js';
import type { LedgerWindow, PendingWindow } from '../../src/record/usage-ledger.js';
import type { MeteredEntry } from '../../src/sync/metered-entry.js';
import type { RatedRow } from '../../src/sync/rated-usage-pull.js';
import type { PlannedPeriod, SubscriptionPlanInput } from '../../src/sync/subscription-plan.js';

export const HOUR = 3_600_000;

/** A small seeded generator so a failing run can be replayed from its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Half cents, just under and over them, thirds, nothing, and now and then a CloudKitty credit.
const RATES = ['0.005', '0.0025', '0.0015', '0.0049', '0.0051', '0.01', '0.02', '0', '0.00333333', '0.125'];
const TYPES = ['instance', 'vcpus'];

export class SimulatedSubscription {
  readonly ledger = new Map<string, LedgerWindow>();
  watermark: Date | null = null;
  /**
   * The watermark a run that confirmed everything it wrote ended at (UsageLedger's `settled`): any write
   * since clears it. Lets the next run from there read only the windows it needs.
   */
  settledAt: Date | null = null;
  /** CloudKitty's current rate per hour (its collect period) and metric type; absent = no data. */
  private readonly rated = new Map<number, Record<string, string>>();
  now: Date;

  constructor(
    readonly random: () => number,
    public entry: MeteredEntry,
    readonly windowSize: WindowSize,
    readonly horizonPeriods: number,
  ) {
    this.now = new Date(Date.parse(entry.since) + 2 * HOUR);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)] as T;
  }

  private rate(): string {
    if (this.random() < 0.05) return `-${this.pick(RATES.slice(0, 4))}`;
    return this.pick(RATES);
  }

  /** CloudKitty rates (or re-rates) the hour: each type gets a rate, or none. */
  rateHour(hourMs: number): void {
    const byType: Record<string, string> = {};
    for (const type of TYPES) if (this.random() < 0.85) byType[type] = this.rate();
    this.rated.set(hourMs, byType);
  }

  /** Re-rates `count` random hours of [fromMs, toMs): rates go up, down, away or appear. */
  rerate(fromMs: number, toMs: number, count: number): void {
    const hours = Math.floor((toMs - fromMs) / HOUR);
    for (let i = 0; i < count && hours > 0; i++)
      this.rateHour(fromMs + Math.floor(this.random() * hours) * HOUR);
  }

  /** Time passes: CloudKitty rates every hour up to the new now. */
  advance(hours: number): void {
    const before = alignWindowStart(this.now, { ms: HOUR, label: '1h' }).getTime();
    this.now = new Date(this.now.getTime() + hours * HOUR);
    for (let h = before; h < this.now.getTime(); h += HOUR) if (!this.rated.has(h)) this.rateHour(h);
  }

  rows(from: Date, to: Date): RatedRow[] {
    const rows: RatedRow[] = [];
    for (const [beginMs, byType] of this.rated) {
      if (beginMs < from.getTime() || beginMs >= to.getTime()) continue;
      for (const [type, rate] of Object.entries(byType)) rows.push({ beginMs, type, stack: null, rate });
    }
    return rows.sort((a, b) => a.beginMs - b.beginMs);
  }

  private since(): Date {
    return alignWindowStart(new Date(this.entry.since), this.windowSize);
  }

  /** The end of the last closed window: CloudKitty has rated the hour before now. */
  closed(): Date {
    return alignWindowStart(new Date(this.now.getTime() - HOUR), this.windowSize);
  }

  /** A range as syncRange gives it: from the watermark, a recheck of the horizon, or a backfill. */
  range(mode: 'new' | 'recheck' | 'backfill'): { from: Date; to: Date } {
    const since = this.since();
    const base = this.watermark ?? since;
    let to = this.closed();
    if (this.entry.until) {
      const until = new Date(this.entry.until);
      const start = alignWindowStart(until, this.windowSize);
      const end =
        start.getTime() === until.getTime() ? start : new Date(start.getTime() + this.windowSize.ms);
      if (end < to) to = end;
    }
    if (mode === 'new') return { from: base, to };
    if (mode === 'recheck') {
      const cycle = billingCycleOf(this.entry, 'FIXED');
      const horizon = billingPeriodRelativeTo(this.now, -(this.horizonPeriods - 1), cycle).start;
      const start = alignWindowStart(horizon, this.windowSize);
      return { from: new Date(Math.min(base.getTime(), Math.max(start.getTime(), since.getTime()))), to };
    }
    if (this.random() < 0.5) {
      // A few windows from the end of one the ledger holds: next to what is there, or into a gap after it.
      const ends = [...this.ledger.values()].map((w) => w.end);
      const end = ends.length > 0 ? new Date(this.pick(ends)) : since;
      const a = alignWindowStart(end, this.windowSize);
      const b = new Date(a.getTime() + (1 + Math.floor(this.random() * 4)) * this.windowSize.ms);
      return { from: a, to: b < to ? b : to };
    }
    const span = Math.max(1, to.getTime() - since.getTime());
    const a = alignWindowStart(new Date(since.getTime() + this.random() * span), this.windowSize);
    const b = alignWindowStart(new Date(a.getTime() + this.random() * span), this.windowSize);
    return { from: a, to: b < to ? b : to };
  }

  /** The input of a run over [from, to), as SubscriptionSync builds it. */
  input(from: Date, to: Date): SubscriptionPlanInput {
    return {
      entry: this.entry,
      ledger: new Map(this.ledger),
      rows: this.rows(from, to),
      from,
      to,
      now: this.now,
    };
  }

  /** Resends what an interrupted run left pending, as SubscriptionSync does first. True when there was some. */
  resume(): boolean {
    let resumed = false;
    for (const [start, window] of this.ledger) {
      if (!window.pending) continue;
      resumed = true;
      this.settledAt = null;
      this.ledger.set(start, confirmed(window, window.pending));
    }
    return resumed;
  }

  /**
   * Carries a plan out: each period's writes, then its revisions confirmed one by one. `crashAfter` sends (over
   * the whole run) a crash stops it, leaving the rest pending and the watermark where it was.
   */
  carryOut(periods: readonly PlannedPeriod[], to: Date, crashAfter = Infinity): boolean {
    let sent = 0;
    for (const period of periods) {
      if (sent >= crashAfter) return false;
      if (period.writes.size > 0) this.settledAt = null;
      for (const [start, w] of period.writes) this.ledger.set(start, w);
      for (const send of period.sends) {
        if (sent++ >= crashAfter) return false;
        this.ledger.set(send.start, confirmed(send.window, send.pending));
      }
    }
    if (!this.watermark || this.watermark < to) this.watermark = to;
    this.settledAt = this.watermark.getTime() === to.getTime() ? to : null;
    return true;
  }

  /**
   * A plan as the version before rounding states carries it out on this ledger, given the plan this version
   * makes on the ledger without states: fresh windows written without one, a revision of an older window
   * written over the window as the ledger holds it, its state kept.
   */
  asOlderVersion(periods: readonly PlannedPeriod[], from: Date): PlannedPeriod[] {
    return periods.map((p) => {
      const writes = new Map<string, LedgerWindow>();
      for (const [start, w] of p.writes) {
        const { rounding: _dropped, ...rest } = w;
        const kept = this.ledger.get(start)?.rounding;
        writes.set(start, start < from.toISOString() && kept ? { ...rest, rounding: kept } : rest);
      }
      const sends = p.sends.map((s) => ({ ...s, window: writes.get(s.start) ?? s.window }));
      return { ...p, writes, sends };
    });
  }

  /** The ledger as a version before the rounding state left it. */
  forgetRoundingStates(): void {
    // A version before the settled marker neither reads nor clears it: going back to one deletes it.
    this.settledAt = null;
    for (const [start, window] of this.ledger) {
      const { rounding: _dropped, ...rest } = window;
      this.ledger.set(start, rest);
    }
  }
}

/** A window with a revision folded in, and its credits given, as pending-revision.ts confirms it. */
function confirmed(window: LedgerWindow, pending: PendingWindow): LedgerWindow {
  const { pending: _sent, ...rest } = window;
  const cents = { ...window.cents };
  for (const [unit, c] of Object.entries(pending.cents)) cents[unit] = (cents[unit] ?? 0) + c;
  const given = (pending.credits ?? []).map((c) => ({
    revision: pending.revision,
    unitType: c.unitType,
    cents: c.cents,
    description: c.description,
    invoiceItemId: `item-${c.description}`,
  }));
  const credits = given.length > 0 ? { credits: [...(window.credits ?? []), ...given] } : {};
  return { ...rest, cents, lastRevision: pending.revision, ...credits };
}
