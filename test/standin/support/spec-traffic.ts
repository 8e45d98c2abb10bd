import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { OpenApiSpec } from './openapi-spec.js';

/**
 * Watches every request the official client makes and every answer it gets, and records where either
 * strays from killbill-openapi.json: an undeclared path or method, a missing required parameter, an
 * undeclared or ill-typed parameter, a body or a JSON response that fails the operation's schema.
 * Documented server behaviour that the spec gets wrong is allowed (contracts/README.md).
 */

/** Statuses the real server answers that the spec does not declare (README "disagree" list). */
const KNOWN_STATUS_DIFFERENCES: Record<string, number[]> = {
  recordUsage: [201],
};

export interface SpecViolation {
  call: string;
  problem: string;
}

export interface ObservedCall {
  method: string;
  path: string;
  operationId: string | null;
  status: number | null;
}

let shared: OpenApiSpec | undefined;
export function openApiSpec(): OpenApiSpec {
  shared ??= new OpenApiSpec();
  return shared;
}

export class SpecTraffic {
  readonly violations: SpecViolation[] = [];
  readonly calls: ObservedCall[] = [];
  private readonly spec = openApiSpec();

  watch(axios: AxiosInstance): void {
    axios.interceptors.response.use(
      (response) => {
        this.check(response.config, response);
        return response;
      },
      (error: AxiosError) => {
        if (error.config) this.check(error.config, error.response);
        return Promise.reject(error);
      },
    );
  }

  /** Hands the violations seen so far to the caller and starts afresh. */
  take(): SpecViolation[] {
    return this.violations.splice(0);
  }

  private check(config: InternalAxiosRequestConfig, response: AxiosResponse | undefined): void {
    const method = (config.method ?? 'get').toUpperCase();
    const url = new URL(config.url ?? '', 'http://placeholder');
    const call = `${method} ${url.pathname}${url.search}`;
    const problem = (p: string): void => {
      this.violations.push({ call, problem: p });
    };
    const matched = this.spec.match(method, url.pathname);
    this.calls.push({
      method,
      path: url.pathname,
      operationId: matched?.operation.operationId ?? null,
      status: response?.status ?? null,
    });
    if (!matched) {
      problem('no such path and method in killbill-openapi.json');
      return;
    }
    const { operation } = matched;
    const params = operation.parameters;
    for (const p of params.filter((x) => x.in === 'path')) {
      for (const e of this.spec.checkValue(p, matched.pathParams[p.name] ?? '')) problem(e);
    }
    const query = url.searchParams;
    for (const name of new Set(query.keys())) {
      const p = params.find((x) => x.in === 'query' && x.name === name);
      if (!p) {
        problem(`query parameter ${name} is not declared`);
        continue;
      }
      const values = query.getAll(name);
      if (values.length > 1 && p.type !== 'array')
        problem(`query parameter ${name} repeated but not an array`);
      for (const v of values) for (const e of this.spec.checkValue(p, v)) problem(e);
    }
    const headers = config.headers;
    for (const p of params) {
      if (!p.required) continue;
      if (p.in === 'query' && !query.has(p.name)) problem(`required query parameter ${p.name} missing`);
      if (p.in === 'header' && !headers.get(p.name)) problem(`required header ${p.name} missing`);
    }
    const bodyParam = params.find((x) => x.in === 'body');
    if (bodyParam) {
      const raw = config.data as unknown;
      const contentType = String(headers.get('Content-Type') ?? '');
      let body: unknown = raw;
      if (typeof raw === 'string' && contentType.includes('json')) body = JSON.parse(raw);
      if (body === undefined && bodyParam.required) problem('required body missing');
      else if (body !== undefined)
        for (const e of this.spec.validate(bodyParam.schema, body)) problem(`body ${e}`);
    }
    if (!response || response.status >= 400) return;
    const declared = operation.responses[String(response.status)];
    const tolerated = KNOWN_STATUS_DIFFERENCES[operation.operationId]?.includes(response.status);
    if (!declared && !tolerated) {
      problem(`status ${response.status} not declared for ${operation.operationId}`);
      return;
    }
    const data = response.data as unknown;
    // Creates answer 201 with an empty body and a Location (README point 3), whatever schema is declared.
    if (data === '' || data === undefined || !declared?.schema) return;
    const contentType = String(response.headers['content-type'] ?? '');
    if (!contentType.includes('json')) return;
    for (const e of this.spec.validate(declared.schema, data)) problem(`response ${e}`);
  }
}
