import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logging/logger.js';

export interface CapturedLog {
  /** A logger made by the bridge's own `createLogger`, redaction included, writing here instead of stderr. */
  logger: Logger;
  /** Each line exactly as written, for asserting what never appears in them. */
  lines: string[];
  /** The lines parsed. */
  entries<T = Record<string, unknown>>(): T[];
}

/** The lines a bridge logger writes, kept for the test to read. */
export function capturedLog(level = 'info'): CapturedLog {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger({ level, destination }),
    lines,
    entries: <T>() => lines.map((line) => JSON.parse(line) as T),
  };
}
