import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CatalogFileError } from '../errors/index.js';

/** What identifies a catalog version in Kill Bill: the catalog's name and the instant it takes effect. */
export interface CatalogVersion {
  name: string;
  effectiveDate: Date;
}

const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });

type Node = Record<string, unknown>;

function node(value: unknown): Node | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Node) : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function nodes(value: unknown): Node[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map(node).filter((n): n is Node => n !== null);
}

/** Kill Bill reads effective dates as Joda DateTimes: an offset-less time is UTC, as is a bare date. */
function instant(value: string): Date | null {
  const withZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : /T/.test(value) ? `${value}Z` : value;
  const date = new Date(withZone);
  return Number.isNaN(date.getTime()) ? null : date;
}

function versionOf(n: Node, fallbackName: string | null): CatalogVersion | null {
  const name = text(n.catalogName) ?? fallbackName;
  const effective = text(n.effectiveDate);
  const effectiveDate = effective === null ? null : instant(effective);
  return name && effectiveDate ? { name, effectiveDate } : null;
}

/**
 * The version a catalog file declares. Checked here rather than left to Kill Bill so that a wrong file
 * is refused before anything is written, with a reason that names the file's problem.
 */
export function catalogFileVersion(xml: string): CatalogVersion {
  if (xml.trim() === '') throw new CatalogFileError('the file is empty');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new CatalogFileError(`not XML: ${valid.err.msg} (line ${valid.err.line})`);
  }
  const root = node(node(parser.parse(xml))?.catalog);
  if (!root) throw new CatalogFileError('not a Kill Bill catalog: no <catalog> root element');
  const name = text(root.catalogName);
  if (!name) throw new CatalogFileError('no <catalogName>');
  const effective = text(root.effectiveDate);
  if (!effective) throw new CatalogFileError('no <effectiveDate>');
  const effectiveDate = instant(effective);
  if (!effectiveDate) throw new CatalogFileError(`<effectiveDate> "${effective}" is not a date`);
  return { name, effectiveDate };
}

/**
 * Every version in what `GET /1.0/kb/catalog/xml` answered: one standalone `<catalog>`, or the versioned
 * form (`<catalogs><versions><version>…`) in which a version may leave its name to the enclosing element.
 * Anything unreadable counts as no version, so the catalog is uploaded and Kill Bill has the last word.
 */
export function catalogVersionsIn(xml: string | null): CatalogVersion[] {
  if (!xml || XMLValidator.validate(xml) !== true) return [];
  const doc = node(parser.parse(xml));
  if (!doc) return [];
  const single = node(doc.catalog);
  if (single) {
    const version = versionOf(single, null);
    return version ? [version] : [];
  }
  const versioned = node(doc.catalogs);
  if (!versioned) return [];
  const outerName = text(versioned.catalogName);
  return nodes(node(versioned.versions)?.version)
    .map((v) => versionOf(v, outerName))
    .filter((v): v is CatalogVersion => v !== null);
}

export function sameVersion(a: CatalogVersion, b: CatalogVersion): boolean {
  return a.name === b.name && a.effectiveDate.getTime() === b.effectiveDate.getTime();
}

export function describeVersion(v: CatalogVersion): string {
  return `${v.name} effective ${v.effectiveDate.toISOString()}`;
}
