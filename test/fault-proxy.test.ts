import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { FaultProxy } from './support/fault-proxy.js';

/** The proxy's own behaviour, in front of a plain echo server, before tests rely on it in front of Kill Bill. */
describe('fault proxy (test support)', () => {
  let echo: Server;
  let proxy: FaultProxy;
  let served = 0;

  before(async () => {
    echo = createServer((req, res) => {
      served++;
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'text/plain' });
        res.end(`${req.method} ${req.url} ${body}`);
      });
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const address = echo.address();
    proxy = await FaultProxy.start(`http://127.0.0.1:${typeof address === 'object' ? address!.port : 0}`);
  });
  after(async () => {
    await proxy?.close();
    await new Promise((r) => echo?.close(r));
  });
  beforeEach(() => {
    proxy.heal();
    served = 0;
  });

  const post = (path: string, body = 'x') => fetch(`${proxy.url}${path}`, { method: 'POST', body });

  it('passes requests through and records them', async () => {
    const res = await post('/1.0/kb/usages?a=1', 'hello');
    expect(res.status).to.equal(201);
    expect(await res.text()).to.equal('POST /1.0/kb/usages?a=1 hello');
    expect(proxy.seen({ path: '/1.0/kb/usages' }).at(-1)).to.include({ outcome: 201, body: 'hello' });
  });

  it('answers injected statuses for matching requests only, the given number of times', async () => {
    proxy.failNext(2, { kind: 'status', status: 500 }, { method: 'POST', path: '/1.0/kb/usages' });
    expect((await post('/other')).status).to.equal(201);
    expect((await post('/1.0/kb/usages')).status).to.equal(500);
    expect((await post('/1.0/kb/usages')).status).to.equal(500);
    expect((await post('/1.0/kb/usages')).status).to.equal(201);
    expect(served).to.equal(2);
  });

  it('drops a connection before or after the server did the work', async () => {
    proxy.failNext(1, { kind: 'drop' });
    proxy.failNext(1, { kind: 'drop-after' });
    let errors = 0;
    for (let i = 0; i < 2; i++) await post('/x').catch(() => errors++);
    expect(errors).to.equal(2);
    expect(served).to.equal(1);
  });

  it("cuts an answer short: the server's status and headers, half its body, then the connection dropped", async () => {
    proxy.failNext(1, { kind: 'cut-body' });
    const res = await post('/cut', 'abcdef');
    expect(res.status).to.equal(201);
    expect(Number(res.headers.get('content-length'))).to.equal('POST /cut abcdef'.length);
    const err = await res.text().catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect(served).to.equal(1);
    expect(proxy.seen({ path: '/cut' }).at(-1)).to.include({ outcome: 'cut-body' });
  });

  it('hangs until the caller gives up', async () => {
    proxy.failNext(1, { kind: 'hang' });
    const err = await fetch(`${proxy.url}/slow`, { signal: AbortSignal.timeout(300) }).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect(served).to.equal(0);
  });

  it('goes down (connection refused) and comes back on the same port', async () => {
    const port = proxy.port;
    await proxy.down();
    const err = await post('/x').catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    await proxy.up();
    expect(proxy.port).to.equal(port);
    expect((await post('/x')).status).to.equal(201);
  });
});
