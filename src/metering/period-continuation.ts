import type { Cents } from './cents.js';
import type { PeriodPlan, PeriodWindowInput, PlannedWindowRecord, UnitType } from './correction.js';
import { cumulativeTargets, exactRateSum } from './period-rounding.js';

/**
 * Where a billing period's cumulative rounding stands after its windows up to some window: per unit, the
 * exact sum of the rates (decimal text) and the cents recorded for them, all revisions and credits included.
 */
export interface RoundingState {
  readonly rates: Readonly<Record<UnitType, string>>;
  readonly cents: Readonly<Record<UnitType, Cents>>;
}

/** Every unit a period's windows have a rate or recorded cents for, in the order plans take them. */
function unitsOf(windows: readonly PeriodWindowInput[], state?: RoundingState): UnitType[] {
  const units = new Set<UnitType>(Object.keys(state?.rates ?? {}));
  Object.keys(state?.cents ?? {}).forEach((u) => units.add(u));
  for (const w of windows) {
    Object.keys(w.rates).forEach((u) => units.add(u));
    Object.keys(w.recorded?.cents ?? {}).forEach((u) => units.add(u));
  }
  return [...units].sort();
}

/**
 * The state once `plan` is recorded, `windows` being every window of the period it planned (the
 * {@link planPeriodRecords} input): each unit's exact sum over them, and its recorded cents plus the planned.
 */
export function roundingStateAfter(windows: readonly PeriodWindowInput[], plan: PeriodPlan): RoundingState {
  const rates: Record<UnitType, string> = {};
  const cents: Record<UnitType, Cents> = {};
  for (const unit of unitsOf(windows)) {
    rates[unit] = exactRateSum(windows.map((w) => w.rates[unit] ?? null));
    let total = 0;
    for (const w of windows) total += w.recorded?.cents[unit] ?? 0;
    for (const r of plan.records) total += r.cents[unit] ?? 0;
    cents[unit] = total;
  }
  return { rates, cents };
}

/**
 * Whether every unit's recorded cents are its exact sum rounded once: then a plan of the whole period would
 * correct none of the windows behind the state, and later windows only continue the rounding. Always so
 * after a plan inside the late-usage horizon is recorded (see correction.ts); never assumed.
 */
export function isSettled(state: RoundingState): boolean {
  for (const unit of Object.keys({ ...state.rates, ...state.cents })) {
    const [target] = cumulativeTargets([state.rates[unit] ?? null]);
    if (target !== (state.cents[unit] ?? 0)) return false;
  }
  return true;
}

/**
 * The records of windows that follow a settled state, none of them recorded yet, and the state after them:
 * what {@link planPeriodRecords} gives for the whole period inside the horizon, without reading the windows
 * behind the state. target(k) = roundHalfUp(sum + Σ rates of the new windows up to k); each window records
 * target(k) − target(k − 1). Null when the state is not settled (the whole period must be planned).
 */
export function continuePeriodRecords(
  state: RoundingState,
  windows: readonly PeriodWindowInput[],
): { plan: PeriodPlan; state: RoundingState } | null {
  if (!isSettled(state) || windows.some((w) => w.recorded)) return null;
  const perWindow = windows.map(() => ({}) as Record<UnitType, Cents>);
  const rates: Record<UnitType, string> = {};
  const cents: Record<UnitType, Cents> = {};
  for (const unit of unitsOf(windows, state)) {
    const sequence = [state.rates[unit] ?? null, ...windows.map((w) => w.rates[unit] ?? null)];
    const targets = cumulativeTargets(sequence);
    windows.forEach((_, i) => {
      const c = (targets[i + 1] as Cents) - (targets[i] as Cents);
      if (c !== 0) (perWindow[i] as Record<UnitType, Cents>)[unit] = c;
    });
    rates[unit] = exactRateSum(sequence);
    cents[unit] = targets[targets.length - 1] as Cents;
  }
  const records: PlannedWindowRecord[] = [];
  perWindow.forEach((c, i) => {
    const w = windows[i] as PeriodWindowInput;
    if (Object.keys(c).length > 0)
      records.push({ window: w.window, revision: 0, correction: false, cents: c });
  });
  return { plan: { records, lateDifferences: {} }, state: { rates, cents } };
}
