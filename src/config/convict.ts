import { createRequire } from 'node:module';
import type Convict from 'convict';

/**
 * convict is CommonJS: imported from an ES module, Node scans its 21 KB for named exports at every start of every
 * `bridge` command, long enough for V8 to compile the scanner (about 0.09 s of CPU on a helper thread, and the
 * scan itself); `require` skips it. The CommonJS packages still imported as ES modules (pino,
 * prom-client) are small enough that V8 leaves the scanner uncompiled.
 */
export const convict = createRequire(import.meta.url)('convict') as typeof Convict;
