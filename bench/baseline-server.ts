import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

export interface BaselineServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The yardstick: the same framework, body parser and HTTP stack as the intake, doing no work. What the
 * intake loses against it is the cost of checking the notification and waiting for Redis to hold the job.
 */
export async function startBaselineServer(): Promise<BaselineServer> {
  const app = express();
  app.post('/', express.json(), (_req, res) => {
    res.status(200).json({});
  });
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Kept-alive sockets would hold close() open until they time out.
      server.closeAllConnections();
      await closed;
    },
  };
}
