import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Kill Bill 0.22 (the newest war Maven Central serves here) reads a usage record's `recordDate` as a
 * LocalDate and answers 400 to the date-time the bridge sends for 0.24. This pass-through proxy cuts that
 * date-time to its UTC date (the account-local date of these UTC accounts); everything else is untouched.
 */
export class RecordDateShim {
  private readonly agent = new Agent({ keepAlive: true });

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  static async start(target: string): Promise<RecordDateShim> {
    const server = createServer();
    const shim = new RecordDateShim(server, new URL(target));
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: Buffer = Buffer.concat(chunks);
        if (req.method === 'POST' && req.url?.startsWith('/1.0/kb/usages')) body = toDates(body);
        const upstream = httpRequest(
          {
            host: shim.target.hostname,
            port: shim.target.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: shim.target.host, 'content-length': String(body.length) },
            agent: shim.agent,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.once('error', () => res.destroy());
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return shim;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.agent.destroy();
  }
}

function toDates(body: Buffer): Buffer {
  const json = JSON.parse(body.toString('utf8')) as {
    unitUsageRecords?: Array<{ usageRecords?: Array<{ recordDate: string }> }>;
  };
  for (const unit of json.unitUsageRecords ?? []) {
    for (const r of unit.usageRecords ?? []) r.recordDate = new Date(r.recordDate).toISOString().slice(0, 10);
  }
  return Buffer.from(JSON.stringify(json));
}
