import { expect } from 'chai';
import { Agent, request } from 'node:http';
import { DrainingServer } from '../../src/app/draining-server.js';
import { waitFor } from '../support/wait.js';

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

function get(port: number, path: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('DrainingServer: graceful HTTP stop', () => {
  it('finishes the request in flight, closes kept-alive connections, and takes no new ones', async () => {
    let release: () => void = () => {};
    const server = new DrainingServer((req, res) => {
      if (req.url === '/slow') {
        release = () => res.end('slow done');
        return;
      }
      res.end('quick');
    });
    await server.listen(0, '127.0.0.1');
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    try {
      // A kept-alive idle connection, as a client's pool holds one, must not keep the server open.
      expect((await get(server.port, '/quick', agent)).body).to.equal('quick');
      const slow = get(server.port, '/slow', agent);
      await waitFor('the slow request is in flight', () => server.inFlight === 1);

      let closed = false;
      const closing = server.close().then(() => (closed = true));
      const refused = await get(server.port, '/quick', new Agent()).then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code,
      );
      expect(refused).to.equal('ECONNREFUSED');
      expect(closed).to.equal(false);

      release();
      const answer = await slow;
      expect(answer).to.deep.equal({ status: 200, connection: 'close', body: 'slow done' });
      await closing;
      expect(server.inFlight).to.equal(0);
    } finally {
      agent.destroy();
    }
  });
});
