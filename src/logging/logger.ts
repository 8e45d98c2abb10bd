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
    formatters: { level: (label) => ({ level: label }), log: redactSecrets },
  };
  const logger = pino(options, destination ?? pino.destination({ dest: 2, sync: true }));
  // A child's bindings are written on each of its lines without passing `formatters.log`. A child is made
  // from its parent, so grandchildren inherit this too.
  const makeChild = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return makeChild.call(this, redactSecrets(bindings), childOptions);
  } as Logger['child'];
  return logger;
}

/** A logger that writes nothing, for library code used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
