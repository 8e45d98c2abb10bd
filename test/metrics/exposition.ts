/**
 * A parser of the Prometheus text exposition format (version 0.0.4), enough to read /metrics exactly:
 * HELP and TYPE lines, samples with escaped label values, and +Inf/-Inf/NaN values (any case).
 */

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

/** Samples a family owns besides its own name: a histogram's `_bucket`, `_sum` and `_count`. */
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

export class Exposition {
  constructor(readonly families: Map<string, Family>) {}

  static parse(text: string): Exposition {
    const families = new Map<string, Family>();
    const familyOf = (name: string): Family => {
      let f = families.get(name);
      if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
      return f;
    };
    const owners = new Map<string, Family>();
    for (const [i, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (meta) {
        const f = familyOf(meta[2]!);
        if (meta[1] === 'HELP') f.help = unescape(meta[3]!);
        else {
          f.type = meta[3]!;
          owners.set(f.name, f);
          for (const suffix of SUFFIXES[f.type] ?? []) owners.set(f.name + suffix, f);
        }
        continue;
      }
      if (line.startsWith('#')) continue;
      const sample = parseSample(line, i + 1);
      (owners.get(sample.name) ?? familyOf(sample.name)).samples.push(sample);
    }
    return new Exposition(families);
  }

  family(name: string): Family {
    const f = this.families.get(name);
    if (!f) throw new Error(`/metrics has no family ${name}`);
    return f;
  }

  /** Samples of `name` whose labels include every one of `where`. */
  samples(name: string, where: Labels = {}): Sample[] {
    const family = this.families.get(name) ?? [...this.families.values()].find((f) => owns(f, name));
    return (family?.samples ?? []).filter(
      (s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** The one sample of `name` with exactly these labels; throws when there is none. */
  value(name: string, labels: Labels = {}): number {
    const exact = this.samples(name, labels).filter(
      (s) => Object.keys(s.labels).length === Object.keys(labels).length,
    );
    if (exact.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${exact.length} samples`);
    return exact[0]!.value;
  }

  /** Σ of the samples of `name` whose labels include `where`. */
  sum(name: string, where: Labels = {}): number {
    return this.samples(name, where).reduce((a, s) => a + s.value, 0);
  }
}

function owns(f: Family, name: string): boolean {
  return (SUFFIXES[f.type] ?? []).some((suffix) => f.name + suffix === name);
}

function parseSample(line: string, lineNo: number): Sample {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!head) throw new Error(`line ${lineNo}: no metric name in ${JSON.stringify(line)}`);
  const name = head[1]!;
  let rest = line.slice(name.length);
  const labels: Labels = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) break;
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/.exec(rest);
      if (!label) throw new Error(`line ${lineNo}: bad label in ${JSON.stringify(line)}`);
      labels[label[1]!] = unescape(label[2]!);
      rest = rest.slice(label[0].length);
    }
    rest = rest.slice(1);
  }
  const [valueText] = rest.trim().split(/\s+/);
  return { name, labels, value: parseValue(valueText ?? '', lineNo) };
}

/** Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes `Nan`). */
function parseValue(text: string, lineNo: number): number {
  if (/^\+?inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value))
    throw new Error(`line ${lineNo}: bad value ${JSON.stringify(text)}`);
  return value;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}
