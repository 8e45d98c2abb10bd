import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

// CommonJS packages: under NodeNext the class sits on `.default` (which both packages also set at runtime).
const AjvDraft04 = ajvDraft04.default;
const addFormats = ajvFormats.default;

/**
 * The Swagger 2.0 document `killbill@0.24.0` was generated from, and checks of requests and responses
 * against it. It is stored gzipped so the project's formatter leaves its bytes (and sha256) alone.
 */

export const SPEC_SHA256 = 'bc0a973303e7925bb06ebaa3692edb86c3cfc2d97dc32136ee745e6faa0a4c8a';
const SPEC_PATH = fileURLToPath(new URL('../../killbill-standin/killbill-openapi.json.gz', import.meta.url));

export function specBytes(): Buffer {
  return gunzipSync(readFileSync(SPEC_PATH));
}

interface Parameter {
  name: string;
  in: 'query' | 'header' | 'path' | 'body' | 'formData';
  required?: boolean;
  type?: string;
  format?: string;
  enum?: string[];
  items?: { type?: string; format?: string };
  schema?: unknown;
}

interface Operation {
  operationId: string;
  parameters: Parameter[];
  responses: Record<string, { schema?: unknown }>;
}

type Spec = { paths: Record<string, Record<string, Operation>>; definitions: Record<string, unknown> };

export interface MatchedOperation {
  template: string;
  method: string;
  operation: Operation;
  pathParams: Record<string, string>;
}

/** Jackson writes null fields, which the spec's types do not allow (killbill-0.24.md §1.2). */
function nullable(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullable);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$ref' && typeof v === 'string') out[k] = v.replace('#/definitions/', 'spec#/definitions/');
    else if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, nullable(s)]));
    } else out[k] = typeof v === 'object' ? nullable(v) : v;
  }
  if (typeof out.type === 'string') out.type = [out.type, 'null'];
  if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  return out;
}

export class OpenApiSpec {
  readonly spec: Spec;
  private readonly ajv: InstanceType<typeof AjvDraft04>;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates: { template: string; regex: RegExp; names: string[]; literalLength: number }[];

  constructor() {
    this.spec = JSON.parse(specBytes().toString('utf8')) as Spec;
    this.ajv = new AjvDraft04({ allErrors: true, strict: false });
    addFormats(this.ajv);
    for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'])
      this.ajv.addFormat(f, true);
    this.ajv.addSchema({ definitions: nullable(this.spec.definitions) }, 'spec');
    this.templates = Object.keys(this.spec.paths).map((template) => {
      const names: string[] = [];
      const regex = new RegExp(
        '^' +
          template.replace(/[.]/g, '\\.').replace(/\{([^}]+)\}/g, (_m, name: string) => {
            names.push(name);
            return '([^/]+)';
          }) +
          '$',
      );
      return { template, regex, names, literalLength: template.replace(/\{[^}]+\}/g, '').length };
    });
  }

  /** The operation for a concrete path; a literal segment beats a `{param}` one, as in JAX-RS. */
  match(method: string, path: string): MatchedOperation | null {
    const candidates = this.templates
      .map((t) => ({ t, m: t.regex.exec(path) }))
      .filter((c) => c.m && this.spec.paths[c.t.template]![method.toLowerCase()])
      .sort((a, b) => b.t.literalLength - a.t.literalLength);
    const best = candidates[0];
    if (!best || !best.m) return null;
    const pathParams = Object.fromEntries(
      best.t.names.map((n, i) => [n, decodeURIComponent(best.m![i + 1]!)]),
    );
    return {
      template: best.t.template,
      method: method.toLowerCase(),
      operation: this.spec.paths[best.t.template]![method.toLowerCase()]!,
      pathParams,
    };
  }

  validate(schema: unknown, value: unknown): string[] {
    const key = JSON.stringify(schema);
    const fn = this.validators.get(key) ?? this.ajv.compile(nullable(schema) as object);
    this.validators.set(key, fn);
    return fn(value) ? [] : (fn.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}`);
  }

  /** Checks a simple (query/header/path) parameter value against its declaration. */
  checkValue(p: Parameter, value: string): string[] {
    const type = p.type === 'array' ? p.items?.type : p.type;
    const format = p.type === 'array' ? p.items?.format : p.format;
    let parsed: unknown = value;
    if (type === 'integer' || type === 'number') parsed = Number(value);
    if (type === 'boolean') parsed = value === 'true' ? true : value === 'false' ? false : value;
    const schema = JSON.parse(JSON.stringify({ type, format, enum: p.enum })) as object;
    return this.validate(schema, parsed).map((e) => `${p.in} ${p.name}=${value}: ${e}`);
  }
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
