// `sluice config print` (effective config, secrets masked, optionally with where each value
// came from) and `sluice config keys` (every key with its env name, default and meaning).
import { stringify } from 'yaml';
import { configKeys, maskSecrets } from '../config/load.js';
import type { ParsedArgs } from './args.js';
import { CONFIG_FLAGS_HELP, configFromFlags } from './config-flags.js';

export const CONFIG_HELP = `Usage: sluice config print [--json] [--sources] [config flags]
       sluice config keys [--markdown]

print   the effective configuration after defaults, file, env and flags (secrets masked)
        --json      as JSON instead of YAML
        --sources   add where each value came from
keys    every configuration key with its environment variable, default and description
        --markdown  as a Markdown table (docs/configuration.md's table is made this way)

${CONFIG_FLAGS_HELP}`;

export function configCommand(args: ParsedArgs, out: (s: string) => void): number {
  const sub = args.positionals[0];
  if (args.booleans.has('help') || !sub) {
    out(CONFIG_HELP);
    return sub || args.booleans.has('help') ? 0 : 2;
  }
  if (sub === 'print') {
    const { config, origins } = configFromFlags(args.flags);
    const masked = maskSecrets(config);
    if (args.booleans.has('sources')) {
      const lines = configKeys().map((k) => {
        // Keys are one level (`checks`) or two (`buffer.maxRecords`).
        const v = k.key
          .split('.')
          .reduce<unknown>((o, part) => (o as Record<string, unknown> | undefined)?.[part], masked);
        return `${k.key} = ${JSON.stringify(v)}    # ${origins.get(k.key)}`;
      });
      out(lines.join('\n'));
    } else out(args.booleans.has('json') ? JSON.stringify(masked, null, 2) : stringify(masked).trimEnd());
    return 0;
  }
  if (sub === 'keys') {
    const keys = configKeys();
    if (args.booleans.has('markdown')) out(configKeysMarkdown());
    else {
      for (const k of keys)
        out(
          `${k.key.padEnd(28)} ${k.env.join(', ').padEnd(40)} ${JSON.stringify(k.default ?? null).padEnd(12)} ` +
            k.description,
        );
    }
    return 0;
  }
  out(`unknown config subcommand "${sub}"\n\n${CONFIG_HELP}`);
  return 2;
}

/** The configuration table of docs/configuration.md. */
export function configKeysMarkdown(): string {
  const rows = configKeys().map((k) => {
    const allowed = k.options ? ` (${k.options.join(' \\| ')})` : '';
    const env = k.env.join('`, `');
    return `| \`${k.key}\` | \`${env}\` | \`${JSON.stringify(k.default ?? null)}\` | ${k.description}${allowed} |`;
  });
  return ['| key | env | default | description |', '|---|---|---|---|', ...rows].join('\n');
}
