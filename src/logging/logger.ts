import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object. Secrets reach log lines mostly through
 * config objects, HTTP request options and error objects (axios errors carry the request config).
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  '*.apiSecret',
  '*.*.apiSecret',
  '*.api_secret',
  '*.applicationCredentialSecret',
  '*.*.applicationCredentialSecret',
  'token',
  '*.token',
  '*.callbackToken',
  '*.*.callbackToken',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.*.headers.authorization',
  '*.*.headers.Authorization',
  '*.headers["x-killbill-apisecret"]',
  '*.headers["X-Killbill-ApiSecret"]',
  '*.*.headers["X-Killbill-ApiSecret"]',
  '*.headers["x-auth-token"]',
  '*.headers["X-Auth-Token"]',
  '*.*.headers["X-Auth-Token"]',
  'auth.password',
  '*.auth.password',
  '*.*.auth.password',
];

export interface LoggerSettings {
  /** pino level name. Default `info`. */
  level?: string;
  /** Component name written on every line as `name`. Default `bridge`. */
  name?: string;
  /** Where lines go. Default stderr: stdout belongs to a command's output, which scripts parse. */
  destination?: DestinationStream;
}

/** Structured JSON lines, one per event, with secrets redacted. */
export function createLogger({ level = 'info', name = 'bridge', destination }: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name,
    level,
    base: { name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(options, destination ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that writes nothing, for library code used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
