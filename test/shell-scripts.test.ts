import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function shellScripts(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? shellScripts(join(dir, e.name)) : e.name.endsWith('.sh') ? [join(dir, e.name)] : [],
  );
}

// A stray quote in a script breaks `npm test`, the demo and CI before any test runs, and only on a machine
// that runs that script from a clean clone: parse them all here.
describe('shell scripts', () => {
  const scripts = [...shellScripts(join(ROOT, 'scripts')), join(ROOT, '.ci/run')];

  it('every script parses (bash -n)', () => {
    expect(scripts.length).to.be.greaterThan(5);
    const broken = scripts
      .map((file) => ({
        file: relative(ROOT, file),
        run: spawnSync('bash', ['-n', file], { encoding: 'utf8' }),
      }))
      .filter(({ run }) => run.status !== 0)
      .map(({ file, run }) => `${file}: ${run.stderr.trim()}`);
    expect(broken).to.deep.equal([]);
  });

  it('install-test-deps.sh reads its own package list', () => {
    const help = execFileSync('bash', [join(ROOT, 'scripts/install-test-deps.sh'), '--help'], {
      encoding: 'utf8',
    });
    expect(help).to.match(/^usage: bash scripts\/install-test-deps\.sh/);
  });
});
