/** Account, subscription and custom-field events, and registry reconciles. */
export const REGISTRY_QUEUE = 'registry';
/** Usage sync: the scheduler's tick and one job per subscription batch. */
export const USAGE_QUEUE = 'usage-sync';
