import { expect } from 'chai';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BodyReadError } from '../../src/errors/index.js';
import { readNotificationBody } from '../../src/intake/notification-body.js';

const LIMIT = 1024;

interface Answer {
  status: number;
  body: { rawBody?: string; body?: unknown; type?: string };
  reusedSocket: boolean;
}

/** A server answering what `readNotificationBody` made of each request: the body read, or its refusal. */
describe('notification body: read as Kill Bill sends it, refused otherwise, the connection kept', () => {
  let server: Server;
  let agent: Agent;
  let port: number;
  let readAfterClose: (read: Promise<unknown>) => void = () => undefined;
  let arrived: () => void = () => undefined;

  before(async () => {
    server = createServer((req, res) => {
      if (req.headers['x-read-after-close']) {
        // As when the sender gives up while its token is being checked: the body is read only once it is gone.
        req.once('close', () => readAfterClose(readNotificationBody(req, LIMIT)));
        arrived();
        return;
      }
      readNotificationBody(req, LIMIT).then(
        (read) => res.end(JSON.stringify(read)),
        (err: BodyReadError) => {
          res.statusCode = err.status;
          res.end(JSON.stringify({ type: err.type }));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
  });
  after(async () => {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** POSTs `chunks` one write each (no Content-Length unless given: chunked). */
  function post(chunks: Array<string | Buffer>, headers: IncomingHttpHeaders = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', ...headers },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), reusedSocket: req.reusedSocket }),
          );
        },
      );
      req.on('error', reject);
      for (const c of chunks) req.write(c);
      req.end();
    });
  }

  it('reads a body sent in pieces, and a byte-order mark is not part of the JSON', async () => {
    const sent = '\ufeff{"eventType":"ACCOUNT_CREATION","é":"€"}';
    const bytes = Buffer.from(sent, 'utf8');
    // Cut inside the 3-byte euro sign: pieces are joined as bytes, not decoded one by one.
    const cut = bytes.length - 4;
    const a = await post([bytes.subarray(0, cut), bytes.subarray(cut)]);
    expect(a.status).to.equal(200);
    expect(a.body).to.deep.equal({ rawBody: sent, body: { eventType: 'ACCOUNT_CREATION', é: '€' } });
  });

  it('an empty body reads as {}, so the intake says which keys are missing', async () => {
    expect((await post([])).body).to.deep.equal({ rawBody: '', body: {} });
  });

  it('refuses what is not JSON, a compressed body and a charset other than UTF-8', async () => {
    expect((await post(['{"a":'])).body.type).to.equal('entity.parse.failed');
    const gzip = await post(['{}'], { 'content-encoding': 'gzip' });
    expect([gzip.status, gzip.body.type]).to.deep.equal([415, 'encoding.unsupported']);
    const utf16 = await post(['{}'], { 'content-type': 'application/json; charset=utf-16' });
    expect([utf16.status, utf16.body.type]).to.deep.equal([415, 'charset.unsupported']);
    const utf8 = await post(['{}'], { 'content-type': 'application/json; Charset="UTF-8"' });
    expect(utf8.status).to.equal(200);
  });

  it('refuses a body over the limit, declared or streamed, and the same connection answers the next request', async () => {
    const big = 'x'.repeat(LIMIT + 1);
    const declared = await post([big], { 'content-length': String(big.length) });
    expect([declared.status, declared.body.type]).to.deep.equal([413, 'entity.too.large']);
    const streamed = await post(['x'.repeat(600), 'x'.repeat(600), 'x'.repeat(600)]);
    expect([streamed.status, streamed.body.type]).to.deep.equal([413, 'entity.too.large']);
    const next = await post(['{"ok":true}']);
    expect(next.status).to.equal(200);
    expect(next.reusedSocket, 'the connection outlived the refusals').to.equal(true);
  });

  it('a sender gone before its body is read gets a refusal, not a read that never ends', async () => {
    const outcome = new Promise<unknown>((resolve) => {
      readAfterClose = (read) => read.then(resolve, resolve);
    });
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '100', 'x-read-after-close': '1' },
    });
    req.on('error', () => undefined);
    const atServer = new Promise<void>((resolve) => (arrived = resolve));
    req.write('{"eventType":');
    await atServer;
    req.destroy();
    const err = (await outcome) as BodyReadError;
    expect([err.status, err.type]).to.deep.equal([400, 'request.aborted']);
  });
});
