import { type Cents, type RateInput } from './cents.js';
import { InvalidPeriodInputError } from '../errors/metering-errors.js';
import { cumulativeTargets } from './period-rounding.js';
import { type UsageWindow } from './window.js';

/**
 * Planning what to record for one subscription, one unit and one billing period, given what is already recorded
 * and CloudKitty's current rates. It covers first records and corrections (late data, re-rating) in one pass:
 *
 *   L = the last window that already has a record,
 *   Δ = target_new(L) − Σ recorded cents of windows ≤ L.
 *
 * If Δ ≠ 0, exactly one correction of Δ cents (possibly negative) goes on the earliest window whose running
 * total no longer matches (the earliest window whose rate changed, as far as it shows in cents). Windows after
 * L get target_new(k) − target_new(k−1), continuing from the corrected total. After recording, Σ cents of the
 * period = roundHalfUp(Σ current rates): one rounding per period, nothing lost, nothing twice. One correction
 * record (not one per touched window) keeps the number of POSTs and tracking ids minimal and deterministic.
 *
 * Outside the late-usage horizon nothing is recorded: Kill Bill would never invoice it. The whole difference
 * (current rounded total − Σ recorded) is returned as a late difference for someone to look at.
 */
export interface UnitWindowInput {
  /** CloudKitty's current rate for the window (decimal string; null = no data = 0). */
  readonly rate: RateInput;
  /** Σ cents already recorded for this unit and window over all its revisions (0 if none). */
  readonly recordedCents: Cents;
  /** Whether the window already has any record in Kill Bill (for any unit). */
  readonly recorded: boolean;
}

export interface UnitPeriodPlan {
  /** Per window, the cents to record now for this unit (0 = nothing). */
  readonly cents: Cents[];
  /** Index of the window carrying the correction, or null when none is needed. */
  readonly correctionIndex: number | null;
  /** Δ cents of the correction (0 when none). */
  readonly correctionCents: Cents;
  /** Outside the horizon: current rounded total − Σ recorded (reported, never recorded); 0 inside. */
  readonly lateDifferenceCents: Cents;
}

function assertCents(value: Cents, what: string): void {
  if (!Number.isSafeInteger(value))
    throw new InvalidPeriodInputError(`${what} must be a safe integer: ${value}`);
}

export function planUnitPeriod(windows: readonly UnitWindowInput[], withinHorizon: boolean): UnitPeriodPlan {
  windows.forEach((w, i) => assertCents(w.recordedCents, `recordedCents[${i}]`));
  const targets = cumulativeTargets(windows.map((w) => w.rate));
  const zeros = windows.map(() => 0);
  const recordedTotal = windows.reduce((acc, w) => acc + w.recordedCents, 0);

  if (!withinHorizon) {
    const total = targets.length === 0 ? 0 : (targets[targets.length - 1] as Cents);
    return {
      cents: zeros,
      correctionIndex: null,
      correctionCents: 0,
      lateDifferenceCents: toSafe(total - recordedTotal),
    };
  }

  let last = -1;
  windows.forEach((w, i) => {
    if (w.recorded) last = i;
  });
  windows.forEach((w, i) => {
    if (i > last && w.recordedCents !== 0) {
      throw new InvalidPeriodInputError(`window ${i} has recorded cents but is not marked recorded`);
    }
  });

  const cents = [...zeros];
  let correctionIndex: number | null = null;
  let correctionCents = 0;
  if (last >= 0) {
    let running = 0;
    for (let i = 0; i <= last; i++) {
      running += (windows[i] as UnitWindowInput).recordedCents;
      if (correctionIndex === null && running !== targets[i]) correctionIndex = i;
    }
    correctionCents = toSafe((targets[last] as Cents) - running);
    if (correctionCents === 0) correctionIndex = null;
    else cents[correctionIndex as number] = correctionCents;
  }
  for (let k = last + 1; k < windows.length; k++) {
    cents[k] = toSafe((targets[k] as Cents) - (k === 0 ? 0 : (targets[k - 1] as Cents)));
  }
  return { cents, correctionIndex, correctionCents, lateDifferenceCents: 0 };
}

function toSafe(n: number): Cents {
  if (!Number.isSafeInteger(n))
    throw new InvalidPeriodInputError(`cents out of the safe integer range: ${n}`);
  return n === 0 ? 0 : n;
}

/** Kill Bill unit type, e.g. `openstack-billed-instance`. */
export type UnitType = string;

/** What the bridge already recorded for one window (all units, all revisions). */
export interface RecordedWindow {
  /** Σ cents per unit over the window's revisions; a missing unit means 0. */
  readonly cents: Readonly<Record<UnitType, Cents>>;
  /** Highest revision recorded for the window (0 after the first record). */
  readonly lastRevision: number;
}

export interface PeriodWindowInput {
  readonly window: UsageWindow;
  /** CloudKitty's current rate per Kill Bill unit for this window. */
  readonly rates: Readonly<Record<UnitType, RateInput>>;
  readonly recorded?: RecordedWindow | null;
}

/** One usage record to post: one window, one revision, the units with non-zero cents. */
export interface PlannedWindowRecord {
  readonly window: UsageWindow;
  readonly revision: number;
  /** True when at least one unit's cents is a correction Δ rather than a first allocation. */
  readonly correction: boolean;
  readonly cents: Readonly<Record<UnitType, Cents>>;
}

export interface PeriodPlan {
  /** Records to post, in window order. Empty outside the horizon. */
  readonly records: PlannedWindowRecord[];
  /** Per unit, the difference reported (not recorded) because the period is outside the horizon. */
  readonly lateDifferences: Readonly<Record<UnitType, Cents>>;
}

/**
 * The records to post for one subscription and one billing period. `windows` are all windows of that period
 * that are billed to the subscription and closed, in time order. Corrections of different units on the same
 * window share one record (one revision); corrections on different windows are separate records.
 */
export function planPeriodRecords(windows: readonly PeriodWindowInput[], withinHorizon: boolean): PeriodPlan {
  assertOrdered(windows);
  const units = new Set<UnitType>();
  for (const w of windows) {
    Object.keys(w.rates).forEach((u) => units.add(u));
    Object.keys(w.recorded?.cents ?? {}).forEach((u) => units.add(u));
  }
  const perWindow = windows.map(() => ({ cents: {} as Record<UnitType, Cents>, correction: false }));
  const lateDifferences: Record<UnitType, Cents> = {};

  for (const unit of [...units].sort()) {
    const plan = planUnitPeriod(
      windows.map((w) => ({
        rate: w.rates[unit] ?? null,
        recordedCents: w.recorded?.cents[unit] ?? 0,
        recorded: w.recorded != null,
      })),
      withinHorizon,
    );
    if (!withinHorizon) {
      if (plan.lateDifferenceCents !== 0) lateDifferences[unit] = plan.lateDifferenceCents;
      continue;
    }
    plan.cents.forEach((c, i) => {
      if (c === 0) return;
      const slot = perWindow[i] as { cents: Record<UnitType, Cents>; correction: boolean };
      slot.cents[unit] = c;
      if (i === plan.correctionIndex) slot.correction = true;
    });
  }

  const records: PlannedWindowRecord[] = [];
  perWindow.forEach((slot, i) => {
    if (Object.keys(slot.cents).length === 0) return;
    const w = windows[i] as PeriodWindowInput;
    const revision = w.recorded ? w.recorded.lastRevision + 1 : 0;
    records.push({ window: w.window, revision, correction: slot.correction, cents: slot.cents });
  });
  return { records, lateDifferences };
}

function assertOrdered(windows: readonly PeriodWindowInput[]): void {
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i] as PeriodWindowInput;
    if (!(w.window.start.getTime() < w.window.end.getTime())) {
      throw new InvalidPeriodInputError(`window ${i} is empty or inverted`);
    }
    if (w.recorded && (!Number.isInteger(w.recorded.lastRevision) || w.recorded.lastRevision < 0)) {
      throw new InvalidPeriodInputError(`window ${i} has an invalid lastRevision`);
    }
    const prev = windows[i - 1];
    if (prev && prev.window.end.getTime() > w.window.start.getTime()) {
      throw new InvalidPeriodInputError(`windows out of order or overlapping at ${i}`);
    }
  }
}
