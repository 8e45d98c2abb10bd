// Container health check for the bridge image. The image is node:20-bookworm-slim, which has no curl
// or wget, so the check is a small Node script with no dependencies.
//
//   node docker/healthcheck.mjs http    GET http://127.0.0.1:$PORT/healthz (or $HEALTHCHECK_URL), healthy on 2xx
//   node docker/healthcheck.mjs redis   PING the Redis at $REDIS_URL, healthy on +PONG (for `bridge worker`,
//                                       which serves no HTTP)
//
// Exits 0 when healthy and 1 otherwise, printing one line that says why (shown by `docker inspect`).
/* global process, fetch, AbortSignal, setTimeout, URL, Buffer */
import net from 'node:net';
import tls from 'node:tls';

const TIMEOUT_MS = Number(process.env.HEALTHCHECK_TIMEOUT_MS ?? 4000);

function done(ok, message) {
  (ok ? process.stdout : process.stderr).write(`${message}\n`);
  process.exit(ok ? 0 : 1);
}

async function checkHttp() {
  const url = process.env.HEALTHCHECK_URL || `http://127.0.0.1:${process.env.PORT || 8081}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'manual' });
    done(res.status >= 200 && res.status < 300, `GET ${url} -> ${res.status}`);
  } catch (err) {
    done(false, `GET ${url} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** One RESP command as an array of bulk strings. */
function resp(...args) {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

function checkRedis() {
  const raw = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  let url;
  try {
    url = new URL(raw);
  } catch {
    done(false, 'REDIS_URL is not a URL');
    return;
  }
  const secure = url.protocol === 'rediss:';
  const host = url.hostname;
  const port = Number(url.port || 6379);
  const where = `${url.protocol}//${host}:${port}`; // never print the password
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);

  let out = '';
  if (password) out += user ? resp('AUTH', user, password) : resp('AUTH', password);
  out += resp('PING');

  const socket = secure ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
  setTimeout(() => {
    socket.destroy();
    done(false, `redis ${where}: no answer within ${TIMEOUT_MS} ms`);
  }, TIMEOUT_MS).unref();
  socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(out));
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk.toString('utf8');
    const error = /^-([^\r\n]*)\r\n/m.exec(buffer);
    if (error) {
      socket.destroy();
      done(false, `redis ${where}: ${error[1]}`);
    } else if (buffer.includes('+PONG\r\n')) {
      socket.end();
      done(true, `redis ${where}: PONG`);
    }
  });
  socket.on('error', (err) => done(false, `redis ${where}: ${err.message}`));
}

const mode = process.argv[2] ?? 'http';
if (mode === 'http') await checkHttp();
else if (mode === 'redis') checkRedis();
else done(false, `unknown mode ${mode}: expected http or redis`);
