import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { renderConfigTable } from '../src/config/index.js';

describe('README', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('starts with the two commands: the demo and the tests', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(
      firstBlock
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('#')[0]!.trim()),
    ).to.deep.equal(['npm run demo', 'npm test']);
    expect(readFileSync('.ci/run', 'utf8')).to.match(/^npm test$/m);
  });

  it('lists every configuration key as the schema defines it', () => {
    const table = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)![1]!;
    const normalize = (t: string) =>
      t.replace(/ +/g, ' ').replace(/-{3,}/g, '---').replace(/\\\|/g, '|').trim();
    expect(normalize(table)).to.equal(normalize(renderConfigTable()));
  });
});
