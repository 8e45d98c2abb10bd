/** Rewrites the configuration table of README.md from the schema (`npx tsx scripts/update-readme-config.ts`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable } from '../src/config/index.js';

const readme = readFileSync('README.md', 'utf8');
const next = readme.replace(
  /<!-- config-table:start -->\n[\s\S]*?\n<!-- config-table:end -->/,
  `<!-- config-table:start -->\n${renderConfigTable()}\n<!-- config-table:end -->`,
);
writeFileSync('README.md', next);
