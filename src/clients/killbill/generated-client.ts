import { createRequire } from 'node:module';
import type * as Generated from 'killbill';

/**
 * The official generated Kill Bill client, a CommonJS package, loaded with `require`: imported from an ES module,
 * Node first scans its 1.4 MB for named exports, about 0.15 s of CPU at every start of every `bridge` command.
 * Its types come from `import type … from 'killbill'`, which costs nothing at run time.
 */
export const generated = createRequire(import.meta.url)('killbill') as typeof Generated;
