import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

// docs/architecture.md's table: what each folder may import besides itself.
const ERRORS = ['src/errors'];
const DOMAIN = [...ERRORS, 'src/metering'];
const FOUNDATION = [...DOMAIN, 'src/config', 'src/logging'];
const CLIENTS = ['src/clients/killbill', 'src/clients/openstack'];
const BELOW_STAGES = [...FOUNDATION, ...CLIENTS, 'src/jobs'];
const STAGES = ['src/intake', 'src/registry', 'src/record', 'src/sync', 'src/reconcile', 'src/setup'];
const ALLOWED: Record<string, readonly string[]> = {
  'src/errors': [],
  'src/metering': ERRORS,
  'src/config': FOUNDATION,
  'src/logging': FOUNDATION,
  'src/clients/killbill': FOUNDATION,
  'src/clients/openstack': FOUNDATION,
  'src/jobs': FOUNDATION,
  'src/intake': BELOW_STAGES,
  'src/registry': BELOW_STAGES,
  'src/record': BELOW_STAGES,
  'src/sync': [...BELOW_STAGES, 'src/registry', 'src/record'],
  'src/reconcile': [...BELOW_STAGES, 'src/registry', 'src/sync'],
  'src/setup': [...BELOW_STAGES, 'src/intake', 'src/registry'],
  'src/metrics': [...BELOW_STAGES, ...STAGES],
  'src/dashboard': [...BELOW_STAGES, ...STAGES],
};
const ENTRY_POINTS = ['src/app', 'workers'];

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `src/sync/x.ts` → `src/sync`; `src/clients/killbill/z.ts` → `src/clients/killbill`; `workers/y.ts` → `workers`. */
const folderOf = (file: string) =>
  file.startsWith('workers/')
    ? 'workers'
    : file
        .split('/')
        .slice(0, file.startsWith('src/clients/') ? 3 : 2)
        .join('/');

/** Every relative import (static, dynamic, type-only) of every source file, as folder → folder. */
function folderImports(): Array<{ file: string; from: string; to: string }> {
  const found: Array<{ file: string; from: string; to: string }> = [];
  for (const file of [...sources('src'), ...sources('workers')]) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = relative(ROOT, normalize(join(ROOT, dirname(file), m[1]!)));
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from !== to) found.push({ file, from, to });
    }
  }
  return found;
}

/** Every relative import of every source file, file → file (what `npx madge --circular` reads). */
function fileImports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...sources('src'), ...sources('workers')]) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const targets = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) =>
      relative(ROOT, normalize(join(ROOT, dirname(file), m[1]!))).replace(/\.js$/, '.ts'),
    );
    graph.set(file, targets);
  }
  return graph;
}

describe('architecture: imports go one way, errors in one place (docs/architecture.md)', () => {
  const imports = folderImports();

  it('reads the imports of every folder it has a rule for', () => {
    const folders = new Set(imports.map((i) => i.from));
    for (const f of folders) {
      expect([...Object.keys(ALLOWED), ...ENTRY_POINTS], `a rule for ${f}`).to.include(f);
    }
    expect(imports.length).to.be.greaterThan(50);
  });

  it('no folder imports what its layer may not', () => {
    const against = imports
      .filter((i) => !ENTRY_POINTS.includes(i.from) && !ALLOWED[i.from]!.includes(i.to))
      .map((i) => `${i.file} imports ${i.to}`);
    expect(against).to.deep.equal([]);
  });

  it('every exported error class is in src/errors', () => {
    const elsewhere = [...sources('src'), ...sources('workers')]
      .filter((file) => !file.startsWith('src/errors/'))
      .flatMap((file) =>
        [
          ...readFileSync(join(ROOT, file), 'utf8').matchAll(
            /^export (?:abstract )?class (\w+) extends \w*Error\b/gm,
          ),
        ].map((m) => `${file}: ${m[1]}`),
      );
    expect(elsewhere).to.deep.equal([]);
  });

  it('no cycle between folders outside the entry points', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) {
      if (ENTRY_POINTS.includes(i.from) || ENTRY_POINTS.includes(i.to)) continue;
      edges.set(i.from, (edges.get(i.from) ?? new Set()).add(i.to));
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      if (path.includes(node)) return void cycles.push([...path.slice(path.indexOf(node)), node].join(' → '));
      for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    };
    for (const start of edges.keys()) visit(start, []);
    expect(cycles).to.deep.equal([]);
  });

  it('no import cycle between files, type-only imports included', () => {
    const graph = fileImports();
    expect(graph.size).to.be.greaterThan(100);
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (path.includes(file)) return void cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      if (done.has(file)) return;
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      done.add(file);
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).to.deep.equal([]);
  });
});
