import { Counter, Histogram, Registry } from 'prom-client';

export type IntakeOutcome =
  'queued' | 'ignored' | 'rejected' | 'unauthorized' | 'unknown_tenant' | 'unavailable';

/** Counts every notification by event type and what became of it, and times the enqueue, for /metrics. */
export class IntakeMetrics {
  private readonly counter: Counter<'event_type' | 'outcome'>;
  private readonly enqueueSeconds: Histogram<'outcome'>;

  constructor(registry: Registry) {
    this.counter = new Counter({
      name: 'bridge_notifications_total',
      help: 'Kill Bill push notifications received, by event type and outcome.',
      labelNames: ['event_type', 'outcome'],
      registers: [registry],
    });
    this.enqueueSeconds = new Histogram({
      name: 'bridge_notification_enqueue_duration_seconds',
      help: 'Time Redis took to take a notification job (queued), or until the intake gave up (unavailable).',
      labelNames: ['outcome'],
      // Kill Bill waits for the answer; the intake gives up at 5 s (enqueueTimeoutMs) and answers 503.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }

  count(eventType: string, outcome: IntakeOutcome): void {
    this.counter.inc({ event_type: eventType, outcome });
  }

  enqueued(seconds: number, outcome: 'queued' | 'unavailable'): void {
    this.enqueueSeconds.observe({ outcome }, seconds);
  }

  async value(eventType: string, outcome: IntakeOutcome): Promise<number> {
    const got = await this.counter.get();
    return (
      got.values.find((v) => v.labels.event_type === eventType && v.labels.outcome === outcome)?.value ?? 0
    );
  }
}
