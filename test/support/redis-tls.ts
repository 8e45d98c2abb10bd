import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataNodeArgs, RedisProcess, tempDir } from './redis-processes.js';

/**
 * True when this redis-server was built with TLS (Debian's is). A build without it refuses `tls-port`
 * ("TLS not supported"); one with it gets as far as complaining about the missing certificate.
 */
export function redisHasTls(): boolean {
  const probe = spawnSync(
    'redis-server',
    ['--port', '0', '--tls-port', '1', '--tls-cert-file', '/nonexistent'],
    {
      encoding: 'utf8',
      timeout: 5_000,
    },
  );
  return /Failed to configure TLS|tls-ca-cert-file/.test(`${probe.stdout}${probe.stderr}`);
}

/**
 * A real redis-server that speaks only TLS, on a loopback port, with a throwaway CA and a server
 * certificate for 127.0.0.1 made by openssl in a temp folder.
 */
export class RedisTlsServer {
  private constructor(
    private readonly dir: { path: string; remove: () => void },
    private readonly node: RedisProcess,
    /** PEM of the CA that signed the server certificate: what `redis.tlsCaFile` names. */
    readonly caFile: string,
  ) {}

  get port(): number {
    return this.node.port;
  }

  get url(): string {
    return `rediss://127.0.0.1:${this.node.port}`;
  }

  static async start(): Promise<RedisTlsServer> {
    const dir = tempDir('redis-tls');
    try {
      const files = makeCertificates(dir.path);
      const tlsOnly = (port: number) => [
        ...dataNodeArgs(0, dir.path),
        '--tls-port',
        String(port),
        '--tls-cert-file',
        files.cert,
        '--tls-key-file',
        files.key,
        '--tls-ca-cert-file',
        files.ca,
        // Clients prove nothing with a certificate here; the server's certificate is what is tested.
        '--tls-auth-clients',
        'no',
      ];
      const node = await RedisProcess.startOnFreePort('redis (TLS only)', tlsOnly, {
        tls: { ca: files.caPem },
      });
      return new RedisTlsServer(dir, node, files.ca);
    } catch (err) {
      dir.remove();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.node.kill();
    this.dir.remove();
  }
}

function makeCertificates(dir: string) {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=bridge test CA',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
  );
  writeFileSync(path('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    path('server.key'),
    '-out',
    path('server.csr'),
  );
  openssl(
    'x509',
    '-req',
    '-in',
    path('server.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    path('san.ext'),
    '-out',
    path('server.pem'),
  );
  return {
    ca: path('ca.pem'),
    caPem: readFileSync(path('ca.pem')),
    cert: path('server.pem'),
    key: path('server.key'),
  };
}
