import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Kill Bill 0.22 reads `UsageRecord.recordDate` as a LocalDate and answers 400 (JsonMappingException
 * "…is malformed at T…") to the date-time the bridge sends (the 0.24 format). This proxy passes everything
 * through and cuts only that date-time to its UTC date, the account-local date for these UTC accounts. It
 * stands in for the bridge's missing 0.22 support, and counts what it changed.
 */
export interface RecordDateShim {
  url: string;
  /** recordDates cut to a date so far. */
  rewritten: number;
  close(): Promise<void>;
}

export async function startRecordDateShim(target: string): Promise<RecordDateShim> {
  const to = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const shim: RecordDateShim = { url: '', rewritten: 0, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Buffer = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url?.startsWith('/1.0/kb/usages')) {
        const json = JSON.parse(body.toString('utf8')) as {
          unitUsageRecords: Array<{ usageRecords: Array<{ recordDate: string }> }>;
        };
        for (const r of json.unitUsageRecords.flatMap((u) => u.usageRecords)) {
          if (!r.recordDate.includes('T')) continue;
          r.recordDate = day(new Date(r.recordDate));
          shim.rewritten++;
        }
        body = Buffer.from(JSON.stringify(json));
      }
      const headers = { ...req.headers, host: to.host, 'content-length': String(body.length) };
      const up = httpRequest(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      up.once('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  shim.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  shim.close = async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
    agent.destroy();
  };
  return shim;
}
