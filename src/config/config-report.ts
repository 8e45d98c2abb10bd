import { describeOrigin } from '../errors/config-error.js';
import { schemaLeaves, type LoadedConfig } from './load-config.js';
import { showValue } from './masking.js';

function valueAt(loaded: LoadedConfig, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], loaded.written);
}

/** The effective configuration as `bridge config check` prints it: one key a line, secrets masked. */
export function renderEffectiveConfig(loaded: LoadedConfig): string {
  const lines: string[] = [
    `configuration OK${loaded.file ? ` (file: ${loaded.file})` : ' (no config file)'}`,
  ];
  for (const leaf of schemaLeaves()) {
    const value = valueAt(loaded, leaf.key);
    const origin = loaded.origins.get(leaf.key) ?? { source: 'default' as const };
    lines.push(`${leaf.key} = ${showValue(leaf.key, value)}  (${describeOrigin(origin)})`);
  }
  return lines.join('\n');
}

/** The same, as a JSON object of masked values, for `--json`. */
export function effectiveConfigJson(loaded: LoadedConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const leaf of schemaLeaves()) {
    const value = valueAt(loaded, leaf.key);
    out[leaf.key] = JSON.parse(showValue(leaf.key, value));
  }
  return out;
}

/** The Markdown table of keys in the README, generated from the schema so the two cannot drift. */
export function renderConfigTable(): string {
  const rows = schemaLeaves().map((l) => {
    const def = typeof l.default === 'object' ? JSON.stringify(l.default) : String(l.default);
    return `| \`${l.key}\` | ${l.env ? `\`${l.env}\`` : ''} | ${def === '' ? '(none)' : `\`${def}\``} | ${l.doc} |`;
  });
  return ['| key | env | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Every key with its environment variable, one a line, for `bridge config check --help`. */
export function renderKeyList(): string {
  const leaves = schemaLeaves();
  const width = Math.max(...leaves.map((l) => l.key.length));
  return [
    'Configuration keys, and the environment variable that sets each. In the YAML file a key nests by its',
    'dots (`killbill: {apiKey: …}`), snake_case accepted; a concertim-openstack-service config.yaml is read as is.',
    ...leaves.map((l) => `  ${l.key.padEnd(width)}  ${l.env ?? ''}`.trimEnd()),
    'What each means and its default: the Configuration table of README.md.',
  ].join('\n');
}
