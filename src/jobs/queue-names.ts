/** Account, subscription and custom-field events, and registry reconciles. */
export const REGISTRY_QUEUE = 'registry';
/** Usage sync: the scheduler's tick and one job per subscription batch. */
export const USAGE_QUEUE = 'usage-sync';

/** Every queue the bridge uses, with what it holds: the dashboard shows each. */
export const BRIDGE_QUEUES: ReadonlyArray<{ name: string; description: string }> = [
  {
    name: REGISTRY_QUEUE,
    description: 'Account, subscription and custom-field events, and registry reconciles',
  },
  { name: USAGE_QUEUE, description: "Usage sync: the scheduler's tick and one job per subscription" },
];
