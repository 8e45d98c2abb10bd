import { Counter, type Registry } from 'prom-client';
import type { CreditedUsage, RecordedUsage } from '../record/record-observer.js';

/**
 * What the sync recorded in Kill Bill, per tenant and unit. Counters only go up, so cents a correction
 * takes back are counted apart: net cents recorded = cents − cents withdrawn.
 */
export class UsageMetrics {
  private readonly records: Counter<'tenant' | 'unit'>;
  private readonly cents: Counter<'tenant' | 'unit'>;
  private readonly withdrawn: Counter<'tenant' | 'unit'>;
  private readonly corrections: Counter<'tenant' | 'unit'>;
  private readonly alreadyRecorded: Counter<'tenant'>;
  private readonly credits: Counter<'tenant'>;
  private readonly creditedCents: Counter<'tenant' | 'unit'>;
  private readonly alreadyCredited: Counter<'tenant'>;

  constructor(registry: Registry, tenants: readonly string[], units: readonly string[]) {
    const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Counter<L>({ name, help, labelNames, registers: [registry] });
    this.records = counter(
      'bridge_usage_records_total',
      'Usage records Kill Bill took from this process, one per unit in a record.',
      ['tenant', 'unit'],
    );
    this.cents = counter(
      'bridge_usage_cents_total',
      'Whole cents recorded in Kill Bill (positive amounts), per tenant and unit.',
      ['tenant', 'unit'],
    );
    this.withdrawn = counter(
      'bridge_usage_cents_withdrawn_total',
      'Whole cents taken back by negative corrections (re-rated down), per tenant and unit.',
      ['tenant', 'unit'],
    );
    this.corrections = counter(
      'bridge_usage_corrections_total',
      'Correction records (a later revision of a recorded window), per tenant and unit.',
      ['tenant', 'unit'],
    );
    this.alreadyRecorded = counter(
      'bridge_usage_already_recorded_total',
      'Records Kill Bill already held (a resend after a crash or a lost answer), per tenant.',
      ['tenant'],
    );
    this.credits = counter(
      'bridge_credits_total',
      'Account credits the bridge gave in Kill Bill for downward corrections of invoiced periods, per tenant.',
      ['tenant'],
    );
    this.creditedCents = counter(
      'bridge_credits_cents_total',
      'Whole cents of money given back as account credits (a negative correction of an invoiced period).',
      ['tenant', 'unit'],
    );
    this.alreadyCredited = counter(
      'bridge_credits_already_given_total',
      'Credits found on the account after a lost answer or a crash, confirmed and not given again, per tenant.',
      ['tenant'],
    );
    // Zeros from the start: a rate() over a series that appears only with its first sample misses it.
    for (const tenant of tenants) {
      for (const c of [this.alreadyRecorded, this.credits, this.alreadyCredited]) c.inc({ tenant }, 0);
      for (const unit of units) {
        for (const c of [this.records, this.cents, this.withdrawn, this.corrections, this.creditedCents])
          c.inc({ tenant, unit }, 0);
      }
    }
  }

  recorded(usage: RecordedUsage): void {
    const { tenant } = usage;
    if (usage.outcome === 'already-recorded') {
      this.alreadyRecorded.inc({ tenant });
      return;
    }
    for (const [unit, cents] of Object.entries(usage.cents)) {
      if (cents === 0) continue;
      this.records.inc({ tenant, unit });
      if (cents > 0) this.cents.inc({ tenant, unit }, cents);
      else this.withdrawn.inc({ tenant, unit }, -cents);
      if (usage.correction) this.corrections.inc({ tenant, unit });
    }
  }

  credited(credit: CreditedUsage): void {
    const { tenant } = credit;
    if (credit.outcome === 'already-credited') {
      this.alreadyCredited.inc({ tenant });
      return;
    }
    this.credits.inc({ tenant });
    this.creditedCents.inc({ tenant, unit: credit.unitType }, credit.cents);
  }
}
