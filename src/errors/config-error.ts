import { InputError } from './input-errors.js';

/** Where a configuration value came from, so an error can send the operator to the right place. */
export type ValueOrigin =
  | { source: 'default'; env?: string }
  | { source: 'file'; file: string; line?: number; col?: number }
  | { source: 'env'; name: string }
  | { source: 'flag'; name: string };

export interface ConfigProblem {
  /** Schema key (e.g. `killbill.url`), or the file key as written when it is unknown. */
  key: string;
  /** What was expected. */
  message: string;
  origin: ValueOrigin;
  /** The offending value, already masked when the key is secret. */
  shown?: string;
}

export function describeOrigin(origin: ValueOrigin): string {
  switch (origin.source) {
    case 'default':
      return origin.env
        ? `the built-in default; set environment variable ${origin.env} or this key in the config file`
        : 'the built-in default';
    case 'env':
      return `environment variable ${origin.name}`;
    case 'flag':
      return `command-line flag ${origin.name}`;
    case 'file':
      return origin.line === undefined
        ? origin.file
        : `${origin.file} line ${origin.line}${origin.col === undefined ? '' : ` column ${origin.col}`}`;
  }
}

/** Every problem found in the configuration at once; the process exits 2 before anything starts. */
export class ConfigError extends InputError {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(ConfigError.format(problems));
    this.problems = problems;
  }

  static format(problems: ConfigProblem[]): string {
    const lines = problems.map((p) => {
      const got = p.shown === undefined ? '' : `got ${p.shown}, `;
      return `  - ${p.key}: ${p.message} (${got}from ${describeOrigin(p.origin)})`;
    });
    return `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
  }
}
