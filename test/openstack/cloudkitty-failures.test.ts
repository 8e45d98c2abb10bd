import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { CloudKittyClient } from '../../src/clients/openstack/cloudkitty-client.js';
import { OpenStackRequestError } from '../../src/errors/index.js';
import { freePort } from '../support/wait.js';
import { OpenStackRequests } from '../support/openstack-requests.js';
import { capturedLog } from '../support/captured-log.js';

const QUERY = {
  begin: new Date('2024-01-01T00:00:00Z'),
  end: new Date('2024-01-02T00:00:00Z'),
  groupby: ['project_id'],
  filters: { type: ['instance'] },
} as const;

/** A stand-in that fails the first `failures` requests with `status`, then answers an empty summary. */
async function flakyCloudKitty(
  failures: number,
  status: number,
): Promise<{ url: string; hits: () => number; server: Server }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    const failing = hits <= failures;
    res.writeHead(failing ? status : 200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify(failing ? { message: 'Internal Server Error' } : { total: 0, columns: [], results: [] }),
    );
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, server };
}

describe('CloudKittyClient: failures', () => {
  it('reports CloudKitty down as a typed error after every attempt, naming the call', async () => {
    const url = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    const sent = new OpenStackRequests();
    const client = new CloudKittyClient({ url, attempts: 3, baseDelayMs: 5, onRequest: sent.onRequest });
    let error: unknown;
    await client.summary(QUERY).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(OpenStackRequestError);
    const failure = error as OpenStackRequestError;
    expect(failure.name).to.equal('OpenStackRequestError');
    expect(failure.status).to.equal(undefined);
    expect(failure.attempts).to.equal(3);
    expect(failure.method).to.equal('GET');
    expect(failure.url.startsWith(`${url}/v2/summary?`)).to.equal(true);
    expect(failure.serverMessage).to.match(/ECONNREFUSED/);
    expect(sent.count).to.equal(3);
  });

  it('retries 5xx with growing delays, logs each retry, and succeeds when the server recovers', async () => {
    const flaky = await flakyCloudKitty(2, 503);
    const { lines, logger } = capturedLog('warn');
    try {
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({
        url: flaky.url,
        onRequest: sent.onRequest,
        attempts: 4,
        baseDelayMs: 20,
        logger,
      });
      expect(await client.summary(QUERY)).to.deep.equal([]);
      expect(flaky.hits()).to.equal(3);
      expect(sent.count).to.equal(3);
      const retries = lines.map((l) => JSON.parse(l) as { attempt: number; status: number; delayMs: number });
      expect(retries.map((r) => [r.attempt, r.status])).to.deep.equal([
        [1, 503],
        [2, 503],
      ]);
      // Jitter keeps each delay within [half, full] of base·2^(attempt-1).
      expect(retries[0]!.delayMs).to.be.within(10, 20);
      expect(retries[1]!.delayMs).to.be.within(20, 40);
    } finally {
      flaky.server.close();
    }
  });

  it('gives up on a lasting 5xx with the status and CloudKitty’s message', async () => {
    const flaky = await flakyCloudKitty(99, 500);
    try {
      const client = new CloudKittyClient({ url: flaky.url, attempts: 2, baseDelayMs: 1 });
      let error: unknown;
      await client.summary(QUERY).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(OpenStackRequestError);
      expect((error as OpenStackRequestError).status).to.equal(500);
      expect((error as OpenStackRequestError).serverMessage).to.equal('Internal Server Error');
      expect((error as OpenStackRequestError).message).to.match(
        /HTTP 500 after 2 attempts: Internal Server Error$/,
      );
      expect(flaky.hits()).to.equal(2);
    } finally {
      flaky.server.close();
    }
  });

  it('times out a hung request per attempt', async () => {
    const server = createServer(() => {}); // accepts, never answers
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({
        url: `http://127.0.0.1:${port}`,
        onRequest: sent.onRequest,
        attempts: 2,
        baseDelayMs: 1,
        timeoutMs: 150,
      });
      let error: unknown;
      await client.summary(QUERY).catch((e: unknown) => (error = e));
      expect((error as OpenStackRequestError).serverMessage).to.equal('timed out after 150 ms');
      expect(sent.count).to.equal(2);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  /** A stand-in answering each request with the next of `answers`: a body, or a body cut off mid-way. */
  async function scriptedCloudKitty(
    answers: Array<{ type?: string; body: string; cut?: boolean; stall?: boolean }>,
  ) {
    let hits = 0;
    const server = createServer((_req, res) => {
      const answer = answers[Math.min(hits++, answers.length - 1)]!;
      res.writeHead(200, { 'Content-Type': answer.type ?? 'application/json' });
      if (answer.stall) return void res.write(answer.body.slice(0, answer.body.length >> 1));
      if (!answer.cut) return void res.end(answer.body);
      // Half the body, then the connection drops: the client sees a body cut short.
      res.write(answer.body.slice(0, answer.body.length >> 1), () => res.destroy());
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${port}`, hits: () => hits, server };
  }
  const rowsOf = (n: number) =>
    JSON.stringify({
      total: n,
      columns: ['begin', 'end', 'qty', 'rate', 'project_id'],
      results: Array.from({ length: n }, (_, i) => [
        '2024-01-01T00:00:00+00:00',
        '2024-01-02T00:00:00+00:00',
        1,
        0.5,
        `p${i}`,
      ]),
    });

  it('retries a summary whose body was cut off mid-way, and reads it whole the next time', async () => {
    const body = rowsOf(2000);
    const stub = await scriptedCloudKitty([{ body, cut: true }, { body }]);
    try {
      const client = new CloudKittyClient({ url: stub.url, attempts: 3, baseDelayMs: 1 });
      const rows = await client.summary({ ...QUERY, limit: 5000 });
      expect(rows.map((r) => r.project_id)).to.deep.equal(Array.from({ length: 2000 }, (_, i) => `p${i}`));
      expect(stub.hits()).to.equal(2);
    } finally {
      stub.server.close();
    }
  });

  it('times out a summary that stops half way, and reads it whole on the next attempt', async () => {
    const body = rowsOf(2000);
    const stub = await scriptedCloudKitty([{ body, stall: true }, { body }]);
    try {
      const sent = new OpenStackRequests();
      const client = new CloudKittyClient({
        url: stub.url,
        attempts: 2,
        baseDelayMs: 1,
        timeoutMs: 300,
        onRequest: sent.onRequest,
      });
      const rows = await client.summary({ ...QUERY, limit: 5000 });
      expect(rows.map((r) => r.project_id)).to.deep.equal(Array.from({ length: 2000 }, (_, i) => `p${i}`));
      expect(sent.events.map((e) => e.failure ?? e.status)).to.deep.equal(['timed out after 300 ms', 200]);
    } finally {
      stub.server.closeAllConnections();
      stub.server.close();
    }
  });

  for (const [what, answer, reason] of [
    ['a page that is not JSON', { type: 'text/html', body: '<html>proxy error</html>' }, /is not JSON/],
    ['rows without a total', { body: '{"columns": [], "results": [[1]]}' }, /no numeric total/],
    [
      'a row that is not JSON',
      { body: '{"total": 1, "columns": [], "results": [[1,,2]]}' },
      /row is not JSON/,
    ],
  ] as const) {
    it(`refuses ${what} with a 200 as a typed error saying so, without retrying`, async () => {
      const stub = await scriptedCloudKitty([answer]);
      try {
        const client = new CloudKittyClient({ url: stub.url, attempts: 3, baseDelayMs: 1 });
        const error = await client.summary(QUERY).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(OpenStackRequestError);
        expect((error as OpenStackRequestError).serverMessage).to.match(reason);
        expect(stub.hits()).to.equal(1);
      } finally {
        stub.server.close();
      }
    });
  }
});
