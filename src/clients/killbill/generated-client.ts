import { createRequire } from 'node:module';
import type { AxiosStatic } from 'axios';
import type * as Generated from 'killbill';

const require = createRequire(import.meta.url);

/**
 * The official generated Kill Bill client, a CommonJS package, loaded with `require`: imported from an ES module,
 * Node first scans its 1.4 MB for named exports, about 0.15 s of CPU at every start of every `bridge` command.
 * Its types come from `import type … from 'killbill'`, which costs nothing at run time.
 */
export const generated = require('killbill') as typeof Generated;

/**
 * axios as the generated client itself requires it (CommonJS): importing it as an ES module would load axios a
 * second time, its ES build, about 0.1 s of CPU more at every start for the same library.
 */
export const axios = require('axios') as AxiosStatic;
