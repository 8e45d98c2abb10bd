import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server that stops gracefully: on {@link close} it stops listening, answers what still arrives
 * on kept-alive connections with 503, lets the requests it is serving finish, and closes each kept-alive
 * connection as soon as it is idle, instead of cutting a request in the middle.
 */
export class DrainingServer {
  private readonly server: Server;
  private readonly serving = new Set<ServerResponse>();
  private draining = false;
  private closed: Promise<void> | undefined;

  constructor(handler: RequestListener) {
    // No 'upgrade' listener on purpose: Kill Bill 0.24 sends `Upgrade: h2c` on plain HTTP, and Node hands
    // such a request to the normal handler only when nobody listens for upgrades (contract §2.2).
    this.server = createServer((req, res) => {
      if (this.draining) {
        res.writeHead(503, { connection: 'close', 'content-type': 'application/json', 'retry-after': '5' });
        res.end(
          JSON.stringify({ error: 'shutting down; try again (another instance, or after the restart)' }),
        );
        return;
      }
      this.serving.add(res);
      res.once('close', () => {
        this.serving.delete(res);
        // Node keeps the connection for the next request; a stopping server has none to serve.
        if (this.draining) setImmediate(() => this.server.closeIdleConnections());
      });
      handler(req, res);
    });
  }

  /** Listens; rejects with the reason (e.g. EADDRINUSE) when the port cannot be had. */
  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Requests being answered now. */
  get inFlight(): number {
    return this.serving.size;
  }

  /** Resolves once every request in flight is answered and every connection is closed. */
  close(): Promise<void> {
    this.draining = true;
    if (!this.closed) {
      const server = this.server;
      this.closed = server.listening
        ? new Promise<void>((resolve) => server.close(() => resolve()))
        : Promise.resolve();
      for (const res of this.serving) {
        if (!res.headersSent) res.setHeader('connection', 'close');
      }
      server.closeIdleConnections();
    }
    return this.closed;
  }
}
