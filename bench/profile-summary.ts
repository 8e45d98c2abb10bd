import { readFileSync } from 'node:fs';

/**
 * `npx tsx bench/profile-summary.ts FILE [TOP]`: where a V8 CPU profile (`BENCH_SYNC_PROFILE`, .cpuprofile)
 * spent its time, or where a sampling heap profile (`BENCH_SYNC_ALLOCATIONS`, .heapprofile) allocated, without
 * a browser: the share of each package (or of the bridge's own folders, or Node's modules), then the
 * functions with the most self time or bytes.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode extends ProfileNode {
  selfSize: number;
  children: HeapNode[];
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile|FILE.heapprofile [TOP]');
  process.exit(2);
}
const read = JSON.parse(readFileSync(file, 'utf8')) as Profile | { head: HeapNode };
const heap = 'head' in read;

/** Every node with its own weight: µs of self time, or bytes allocated there. */
function weighted(): Array<{ node: ProfileNode; weight: number }> {
  if ('head' in read) {
    const all: Array<{ node: ProfileNode; weight: number }> = [];
    const walk = (n: HeapNode) => {
      all.push({ node: n, weight: n.selfSize });
      n.children.forEach(walk);
    };
    walk(read.head);
    return all;
  }
  const selfUs = new Map<number, number>();
  read.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (read.timeDeltas[i] ?? 0)));
  return read.nodes.map((node) => ({ node, weight: selfUs.get(node.id) ?? 0 }));
}
const nodes = weighted();
const total = nodes.reduce((sum, n) => sum + n.weight, 0);

/** A package, a folder of the bridge (`src/sync`), a Node module, or V8's own entries (GC, idle). */
function owner(url: string, name: string): string {
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(src|workers)\/([^/]+)\//.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return url;
  return url === '' ? `(${name.replace(/[()]/g, '')})` : url;
}

const byOwner = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const { node, weight: us } of nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const who = owner(url, functionName);
  byOwner.set(who, (byOwner.get(who) ?? 0) + us);
  const where = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
  byFunction.set(where, (byFunction.get(where) ?? 0) + us);
}

const lines = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(top))
    .map(([k, us]) => `  ${((us / total) * 100).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
const what = heap ? 'bytes allocated' : 'self time';
const sampled = heap
  ? `${(total / 2 ** 20).toFixed(0)} MB allocated`
  : `${(total / 1e6).toFixed(2)} s sampled`;
console.log(`${file}: ${sampled}\n${what} by owner:\n${lines(byOwner)}`);
console.log(`${what} by function:\n${lines(byFunction)}`);
