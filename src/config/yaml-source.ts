import { readFileSync } from 'node:fs';
import type { LineCounter, Node, Pair, YAMLError } from 'yaml';
import type { ConfigProblem, ValueOrigin } from '../errors/config-error.js';
import { suggestKey } from './key-suggestion.js';
import { syntaxErrorOffset, yaml } from './yaml-syntax.js';

/** One value read from the file, with the schema key it sets and where it stood. */
export interface FileValue {
  key: string;
  value: unknown;
  origin: ValueOrigin;
}

export interface FileReading {
  values: FileValue[];
  problems: ConfigProblem[];
  /** Things worth one info line, such as ignored blocks of a concertim-openstack-service file. */
  notices: string[];
}

/**
 * Keys of an existing concertim-openstack-service config.yaml, accepted as they are so an operator can
 * point the bridge at the file they already have.
 */
const CONCERTIM_KEYS: Record<string, string> = {
  log_level: 'log.level',
  'killbill.api_host': 'killbill.url',
  'killbill.username': 'killbill.username',
  'killbill.password': 'killbill.password',
  'killbill.apikey': 'killbill.apiKey',
  'killbill.apisecret': 'killbill.apiSecret',
  'killbill.plan_name': 'killbill.planName',
  'openstack.auth_url': 'openstack.authUrl',
  'openstack.username': 'openstack.username',
  'openstack.password': 'openstack.password',
  'openstack.user_id': 'openstack.userId',
  'openstack.project_id': 'openstack.projectId',
  'openstack.project_name': 'openstack.projectName',
  'openstack.user_domain_name': 'openstack.userDomainName',
  'openstack.project_domain_name': 'openstack.projectDomainName',
};

/** Top-level blocks of a concertim-openstack-service file that mean nothing to the bridge. */
const IGNORED_BLOCKS = new Set(['rmq', 'concertim', 'billing_platform']);

/** Keys whose value is a whole map or list, not a block of further keys. */
const STRUCTURED_KEYS = new Set(['metering.metricUnits', 'killbill.extraTenants']);

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Where a node stands in the file. */
type Locate = (node: Node | null | undefined) => ValueOrigin;

/** The file's text; undefined, with the problem recorded, when it cannot be read. */
function readText(file: string, reading: FileReading): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : String(err);
    reading.problems.push({
      key: '(config file)',
      message: `cannot read ${file}: ${why}`,
      origin: { source: 'file', file },
    });
    return undefined;
  }
}

/** One problem per syntax error, each message named once per line. */
function syntaxProblems(
  text: string,
  errors: YAMLError[],
  lines: LineCounter,
  file: string,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const pos = lines.linePos(syntaxErrorOffset(text, e));
    const message = `YAML syntax error: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
    if (seen.has(`${pos.line}:${message}`)) continue;
    seen.add(`${pos.line}:${message}`);
    problems.push({
      key: '(config file)',
      message,
      origin: { source: 'file', file, line: pos.line, col: pos.col },
    });
  }
  return problems;
}

/** What reading the keys of the mapping needs, and where it puts what it finds. */
interface KeyReading {
  schemaKeys: ReadonlySet<string>;
  at: Locate;
  reading: FileReading;
  /** Top-level blocks skipped, named once in a notice. */
  ignored: string[];
}

/** Reads a mapping's keys (under `prefix`, the dotted path of the block they stand in) into schema values. */
function readKeys(pairs: Pair[], prefix: string, r: KeyReading): void {
  const { isMap, isScalar, isSeq } = yaml();
  for (const pair of pairs) {
    const keyNode = pair.key as Node;
    const name = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const rawPath = prefix ? `${prefix}.${name}` : name;
    if (!prefix && IGNORED_BLOCKS.has(name)) {
      r.ignored.push(name);
      continue;
    }
    const valueNode = pair.value as Node | null;
    const key = CONCERTIM_KEYS[rawPath] ?? rawPath.split('.').map(snakeToCamel).join('.');
    if (isMap(valueNode) && !STRUCTURED_KEYS.has(key)) {
      readKeys(valueNode.items as Pair[], rawPath, r);
      continue;
    }
    if (!r.schemaKeys.has(key)) {
      const meant = suggestKey(rawPath, r.schemaKeys);
      r.reading.problems.push({
        key: rawPath,
        message: `unknown key${meant ? `; did you mean \`${meant}\`?` : ''} (\`bridge config check --help\` lists every key)`,
        origin: r.at(keyNode),
      });
      continue;
    }
    let value: unknown =
      isScalar(valueNode) || isSeq(valueNode) || isMap(valueNode) ? valueNode.toJSON() : null;
    // concertim files write log levels in upper case (DEBUG); pino's names are lower case.
    if (key === 'log.level' && typeof value === 'string') value = value.toLowerCase();
    r.reading.values.push({ key, value, origin: r.at(valueNode ?? keyNode) });
  }
}

/** Reads a YAML config file into schema keys, keeping file, line and column of every value. */
export function readConfigFile(file: string, schemaKeys: ReadonlySet<string>): FileReading {
  const reading: FileReading = { values: [], problems: [], notices: [] };
  const text = readText(file, reading);
  if (text === undefined) return reading;

  const { LineCounter, parseDocument, isMap } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const at: Locate = (node) => {
    const offset = node?.range?.[0] ?? 0;
    const pos = lines.linePos(offset);
    return { source: 'file', file, line: pos.line, col: pos.col };
  };

  if (doc.errors.length > 0) {
    reading.problems.push(...syntaxProblems(text, doc.errors, lines, file));
    return reading;
  }
  if (doc.contents === null) return reading;
  if (!isMap(doc.contents)) {
    reading.problems.push({
      key: '(config file)',
      message: 'expected a YAML mapping of keys',
      origin: at(doc.contents),
    });
    return reading;
  }

  const ignored: string[] = [];
  readKeys(doc.contents.items as Pair[], '', { schemaKeys, at, reading, ignored });
  if (ignored.length > 0) {
    reading.notices.push(`ignoring blocks not used by the bridge in ${file}: ${ignored.join(', ')}`);
  }
  return reading;
}
