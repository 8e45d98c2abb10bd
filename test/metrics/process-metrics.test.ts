import { expect } from 'chai';
import { BridgeMetrics } from '../../src/metrics/bridge-metrics.js';
import { testConfig } from '../support/bridge-config.js';

describe("Node's own process metrics", () => {
  const config = testConfig();

  it('are collected by a process that serves /metrics', async () => {
    const metrics = BridgeMetrics.forConfig(config, { processMetrics: true });
    const text = await metrics.registry.metrics();
    expect(text).to.include('process_cpu_user_seconds_total').and.include('nodejs_eventloop_lag_seconds');
  });

  it('are not collected by a one-shot command, which nobody scrapes', async () => {
    const text = await BridgeMetrics.forConfig(config).registry.metrics();
    expect(text).not.to.include('process_cpu_user_seconds_total');
    expect(text).not.to.include('nodejs_');
    expect(text).to.include('bridge_usage_records_total');
  });
});
