import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

export interface DashboardCredentials {
  username: string;
  password: string;
}

/** The credentials the dashboard is opened with, or undefined when it is not configured (off). */
export function dashboardCredentials(config: {
  username: string;
  password: string;
}): DashboardCredentials | undefined {
  return config.username && config.password ? { ...config } : undefined;
}

/**
 * Hashing both sides first gives equal lengths, so the comparison takes the same time whatever was sent
 * and leaks neither the length nor a matching prefix of the real values.
 */
function sameSecret(given: string, expected: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The user and password of a `Basic` Authorization header, or undefined when it is not one. */
export function parseBasicAuthorization(header: string | undefined): DashboardCredentials | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** True when the header carries exactly the expected user and password. */
export function basicAuthorizationMatches(
  header: string | undefined,
  expected: DashboardCredentials,
): boolean {
  const given = parseBasicAuthorization(header) ?? { username: '', password: '' };
  // Both compared every time: stopping at a wrong user would tell which half was wrong by the timing.
  const user = sameSecret(given.username, expected.username);
  const password = sameSecret(given.password, expected.password);
  return user && password && given.username !== '';
}

/**
 * Express adapter: 401 with a Basic challenge (so a browser asks for the credentials) unless they match.
 * `onRefused` is told of a refusal without the credentials tried, which may hold a mistyped password.
 */
export function requireBasicAuth(
  expected: DashboardCredentials,
  realm: string,
  onRefused: (why: 'missing' | 'wrong', remote: string | undefined) => void = () => {},
): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (basicAuthorizationMatches(header, expected)) {
      next();
      return;
    }
    onRefused(header ? 'wrong' : 'missing', req.socket.remoteAddress);
    res
      .status(401)
      .set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`)
      .json({
        error: header
          ? 'wrong user or password for the queue dashboard'
          : 'the queue dashboard needs a user and password (HTTP basic auth)',
      });
  };
}
