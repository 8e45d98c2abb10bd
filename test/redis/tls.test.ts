import { expect } from 'chai';
import { Queue, Worker } from 'bullmq';
import { connectRedisOnce, createRedisConnection } from '../../src/jobs/redis-connection.js';
import { RegistryStore } from '../../src/registry/registry-store.js';
import { testConfig } from '../support/bridge-config.js';
import { RedisTlsServer, redisHasTls } from '../support/redis-tls.js';
import { waitFor } from '../support/wait.js';

describe('rediss://: the bridge over TLS to a real redis-server with a private CA', function () {
  this.timeout(60_000);
  let server: RedisTlsServer;

  before(async function () {
    if (!redisHasTls()) {
      // Debian's redis-server is built with TLS; a build without it can only have its URLs parsed.
      this.skip();
    }
    server = await RedisTlsServer.start();
  });
  after(async () => {
    await server?.close();
  });

  it("keeps the registry and runs BullMQ jobs over TLS, trusting redis.tlsCaFile's CA", async () => {
    const config = testConfig({ REDIS_URL: server.url, REDIS_TLS_CA_FILE: server.caFile });
    expect(config.redis).to.include({ url: server.url, tlsCaFile: server.caFile });
    const redis = createRedisConnection(config.redis, 'worker');
    const queue = new Queue('tls-check', { connection: redis, prefix: config.redis.prefix });
    // The worker's blocking connection is BullMQ's duplicate of ours: it must carry the TLS options too.
    const worker = new Worker('tls-check', async (job) => `done ${job.data.n}`, {
      connection: redis,
      prefix: config.redis.prefix,
    });
    try {
      const store = new RegistryStore(redis, config.redis.prefix);
      expect(await store.replaceAccount('tenant', 'acct', { entries: [], problems: [] }, 1)).to.equal(true);
      expect(await store.accountIds('tenant')).to.deep.equal(['acct']);
      const job = await queue.add('check', { n: 7 });
      await waitFor('the job ran over TLS', async () => (await job.getState()) === 'completed');
      expect((await queue.getJob(job.id!))?.returnvalue).to.equal('done 7');
    } finally {
      await worker.close();
      await queue.close();
      redis.disconnect();
    }
  });

  it('refuses a server certificate it cannot verify, and says so without the URL’s password', async () => {
    const url = `rediss://:not-the-password@127.0.0.1:${server.port}`;
    const failure = await connectRedisOnce({ url }).then(
      (r) => {
        r.disconnect();
        return undefined;
      },
      (err: Error) => err.message,
    );
    expect(failure).to.match(
      /^Redis at rediss:\/\/:\*\*\*\*@127\.0\.0\.1:\d+ is unreachable \(.*certificate/,
    );
    expect(failure).to.not.include('not-the-password');
  });
});
