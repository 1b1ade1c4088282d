// A small argv parser: positionals, `--name value`, `--name=value`, and declared boolean flags.
import { SluiceError } from '../errors.js';

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string>;
  booleans: Set<string>;
}

/** `short`: one-letter flags and the long name each stands for (`{ q: 'q', f: 'follow' }`). */
export function parseArgs(
  argv: string[],
  booleanFlags: readonly string[] = [],
  short: Record<string, string> = {},
): ParsedArgs {
  const out: ParsedArgs = { positionals: [], flags: {}, booleans: new Set() };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (/^-[a-zA-Z]$/.test(a) && short[a[1]!]) a = `--${short[a[1]!]}`;
    if (a === '-h') {
      out.booleans.add('help');
      continue;
    }
    if (!a.startsWith('--')) {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    if (booleanFlags.includes(name) || name === 'help') {
      if (eq !== -1) throw new SluiceError('SLUICE_ERR_CONFIG', `--${name} takes no value`);
      out.booleans.add(name);
      continue;
    }
    if (eq !== -1) out.flags[name] = a.slice(eq + 1);
    else {
      const v = argv[i + 1];
      if (v === undefined || (v.startsWith('--') && v.length > 2))
        throw new SluiceError('SLUICE_ERR_CONFIG', `--${name} needs a value`);
      out.flags[name] = v;
      i++;
    }
  }
  return out;
}
