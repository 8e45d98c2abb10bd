import { expect } from 'chai';
import { ConfigError } from '../../src/config/index.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { createRedisConnection } from '../../src/jobs/redis-connection.js';
import { testConfig } from '../support/bridge-config.js';
import { RedisClusterSetup } from '../support/redis-cluster.js';
import { runUsageFlow } from './usage-flow.js';

describe('Redis Cluster: the usage sync on three masters, exactly once (real Cluster, Kill Bill, CloudKitty)', function () {
  this.timeout(10 * 60_000);
  let cluster: RedisClusterSetup;

  before(async () => {
    cluster = await RedisClusterSetup.start();
  });
  after(async () => {
    await cluster?.close();
  });

  it('refuses a prefix without a hash tag, naming redis.prefix', () => {
    expect(() => testConfig({ REDIS_URL: cluster.url, BRIDGE_REDIS_PREFIX: 'osb' }))
      .to.throw(ConfigError)
      .that.satisfies((e: ConfigError) => e.problems.some((p) => p.key === 'redis.prefix'));
  });

  it('without the hash tag, the registry script is refused with CROSSSLOT: why the prefix is checked', async () => {
    const redis = createRedisConnection(cluster.url, 'worker');
    try {
      const store = new RegistryStore(redis, 'untagged');
      const refused = await store.replaceAccount('t', 'a', { entries: [], problems: [] }, 1).then(
        () => undefined,
        (err: Error) => err.message,
      );
      expect(refused).to.match(/CROSSSLOT/);
    } finally {
      redis.disconnect();
    }
  });

  it('records every subscription once, every bridge and BullMQ key in the slot of {osb}', async () => {
    const outcome = await runUsageFlow({
      redisUrl: cluster.url,
      prefix: '{osb}',
      subscriptions: 6,
      hours: 12,
    });
    expect(outcome.recordedCents).to.deep.equal(outcome.expectedCents);
    expect(outcome.failedJobs).to.equal(0);
    for (const a of outcome.accounts) {
      expect(outcome.completedJobs.get(a.subscriptionId), `completed jobs of ${a.subscriptionId}`).to.equal(
        1,
      );
    }
    const home = await cluster.nodeOf('{osb}');
    const keys = await cluster.keysByNode();
    const homeKeys = keys.get(home.port)!;
    expect(homeKeys.some((k) => k.startsWith('{osb}:registry:'))).to.equal(true);
    expect(homeKeys.some((k) => k.startsWith('{osb}:ledger:'))).to.equal(true);
    expect(homeKeys.some((k) => k.startsWith('{osb}:usage-sync:'))).to.equal(true);
    expect(homeKeys.every((k) => k.startsWith('{osb}:'))).to.equal(true);
    for (const [port, list] of keys)
      if (port !== home.port) expect(list, `keys on node ${port}`).to.deep.equal([]);
  });
});
