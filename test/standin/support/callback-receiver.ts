import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A push-notification endpoint for tests: records what Kill Bill (or the stand-in) POSTs to it. */

export interface ReceivedCallback {
  /** When the request arrived, to measure the sender's retry delays. */
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  body: Record<string, unknown>;
}

export interface CallbackAnswer {
  status: number;
  /** Answer only after this long, to provoke the sender's timeout. */
  delayMs?: number;
  headers?: Record<string, string>;
}

export interface CallbackReceiver {
  url: string;
  port: number;
  received: ReceivedCallback[];
  /** Decides each answer; the argument counts requests from 1. Default: 200. */
  answer: (n: number, req: ReceivedCallback) => CallbackAnswer;
  eventTypes(): string[];
  close(): Promise<void>;
}

export async function startCallbackReceiver(port = 0, path = '/callback'): Promise<CallbackReceiver> {
  const timers = new Set<NodeJS.Timeout>();
  const receiver: CallbackReceiver = {
    url: '',
    port: 0,
    received: [],
    answer: () => ({ status: 200 }),
    eventTypes: () => receiver.received.map((r) => String(r.body.eventType)),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server: Server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {
        body = {};
      }
      const record: ReceivedCallback = { at, path: req.url ?? '', headers: req.headers, rawBody, body };
      receiver.received.push(record);
      const { status, delayMs = 0, headers = {} } = receiver.answer(receiver.received.length, record);
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.writeHead(status, headers).end();
      }, delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}${path}`;
  return receiver;
}
