import { pino, type Logger, type DestinationStream, type LoggerOptions } from 'pino';
import { redactSecrets } from './secret-redaction.js';

export type { Logger };

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
    // Every line's object; a child logger's bindings are written as given (none here carries a secret).
    formatters: { level: (label) => ({ level: label }), log: redactSecrets },
  };
  return pino(options, destination ?? pino.destination({ dest: 2, sync: true }));
}

/** A logger that writes nothing, for library code used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
