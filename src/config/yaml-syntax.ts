import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { CST, YAMLError } from 'yaml';

let loaded: typeof Yaml | undefined;

/**
 * The yaml package, loaded when there is a file to read: a configuration from the environment alone (a
 * container's) starts about 0.07 s of CPU sooner without it.
 */
export function yaml(): typeof Yaml {
  return (loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}

type OpenerKind = 'quote' | 'flow-seq' | 'flow-map';

/** A quote or bracket that opens and is never closed, and the stretch of text it swallowed. */
interface UnclosedOpener {
  kind: OpenerKind;
  start: number;
  end: number;
}

const CLOSED_DOUBLE = /^"(?:[^"\\]|\\[\s\S])*"$/;
const CLOSED_SINGLE = /^'(?:[^']|'')*'$/;

function unclosedKind(token: CST.Token): OpenerKind | undefined {
  switch (token.type) {
    case 'double-quoted-scalar':
      return CLOSED_DOUBLE.test(token.source) ? undefined : 'quote';
    case 'single-quoted-scalar':
      return CLOSED_SINGLE.test(token.source) ? undefined : 'quote';
    case 'flow-collection':
      if (token.end.some((t) => t.type === 'flow-seq-end' || t.type === 'flow-map-end')) return undefined;
      return token.start.type === 'flow-seq-start' ? 'flow-seq' : 'flow-map';
    default:
      return undefined;
  }
}

/** The kind of opener an error message is about, when it says. */
function kindNamedIn(message: string): OpenerKind | undefined {
  if (/flow sequence/i.test(message)) return 'flow-seq';
  if (/flow map/i.test(message)) return 'flow-map';
  if (/quote/i.test(message)) return 'quote';
  return undefined;
}

function collect(token: CST.Token | null | undefined, into: UnclosedOpener[]): void {
  if (!token) return;
  const kind = unclosedKind(token);
  if (kind) into.push({ kind, start: token.offset, end: token.offset + yaml().CST.stringify(token).length });
  switch (token.type) {
    case 'document':
      collect(token.value, into);
      break;
    case 'block-map':
    case 'block-seq':
    case 'flow-collection':
      for (const item of token.items) {
        collect(item.key, into);
        collect(item.value, into);
      }
      break;
  }
}

/**
 * Where a YAML syntax error really is. The parser notices an unclosed quote or bracket only where the text
 * it swallowed ends, often the end of the file; the person needs the line where it was opened.
 */
export function syntaxErrorOffset(text: string, error: YAMLError): number {
  // A key that runs over two lines is most often a line indented too far: point at where the key ends.
  const offset = error.code === 'MULTILINE_IMPLICIT_KEY' ? error.pos[1] - 1 : error.pos[0];
  const openers: UnclosedOpener[] = [];
  for (const token of new (yaml().Parser)().parse(text)) collect(token, openers);
  const kind = kindNamedIn(error.message);
  // The innermost opener is the one that started last among those reaching the error.
  const culprit = openers
    .filter((o) => o.start < offset && offset <= o.end && (!kind || o.kind === kind))
    .sort((a, b) => b.start - a.start)[0];
  return culprit?.start ?? offset;
}
