import { Counter, Registry } from 'prom-client';

export type IntakeOutcome =
  'queued' | 'ignored' | 'rejected' | 'unauthorized' | 'unknown_tenant' | 'unavailable';

/** Counts every notification by event type and what became of it, for /metrics. */
export class IntakeMetrics {
  private readonly counter: Counter<'event_type' | 'outcome'>;

  constructor(registry: Registry) {
    this.counter = new Counter({
      name: 'bridge_notifications_total',
      help: 'Kill Bill push notifications received, by event type and outcome.',
      labelNames: ['event_type', 'outcome'],
      registers: [registry],
    });
  }

  count(eventType: string, outcome: IntakeOutcome): void {
    this.counter.inc({ event_type: eventType, outcome });
  }

  async value(eventType: string, outcome: IntakeOutcome): Promise<number> {
    const got = await this.counter.get();
    return (
      got.values.find((v) => v.labels.event_type === eventType && v.labels.outcome === outcome)?.value ?? 0
    );
  }
}
