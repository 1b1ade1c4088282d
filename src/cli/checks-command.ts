// `sluice checks import <file>` and `sluice checks export`: a fleet of health checks managed as
// code. Both talk to a running collector's admin API (POST and GET /admin/checks), found and
// authenticated the way `sluice logs` finds it. The file has the shape of the config file's
// `checks:` (a list, or an object with a `checks` list), in YAML or JSON; import matches
// checks by name, so importing the same file twice changes nothing.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { SluiceError, errorMessage } from '../errors.js';
import type { ParsedArgs } from './args.js';
import { configFromFlags } from './config-flags.js';

export const CHECKS_HELP = `Usage: sluice checks import <file> [options] [config flags]
       sluice checks export [--format yaml|json] [options] [config flags]

import   registers the checks of <file> (YAML or JSON: a list of checks, or "checks:" with one,
         as in the config file) in one batch: all are validated before any is written; a check
         whose name exists is replaced (left alone when unchanged), others are created.
export   prints the checks registered through the API as "checks:" (YAML by default), ready for
         import or for the config file. Secret header values and URL passwords are masked
         (***) by the API: put them back before importing.

  --url URL             collector base URL (default: from server.host/server.port, as serve uses)
  --token TOKEN         admin bearer token (default: the first of auth.adminTokens, e.g. from
                        SLUICE_AUTH_ADMIN_TOKENS)
  --format yaml|json    export format (default yaml)
Exit code: 0 when done, 1 when the collector could not be reached or refused, 2 for a usage mistake.`;

const OWN = new Set(['url', 'token', 'format']);
/** What the API adds to a definition: not part of one. */
const META = ['state', 'since', 'lastResult', 'uptime', 'source', 'createdAt', 'updatedAt'];

export async function checksCommand(args: ParsedArgs, out: (s: string) => void): Promise<number> {
  const [sub, file, ...extra] = args.positionals;
  if (args.booleans.has('help') || sub === undefined) {
    out(CHECKS_HELP);
    return sub === undefined && !args.booleans.has('help') ? 2 : 0;
  }
  if (extra.length > 0) throw new SluiceError('SLUICE_ERR_CONFIG', `unexpected argument "${extra[0]}"`);
  const target = collector(args);
  try {
    if (sub === 'import') {
      if (file === undefined) throw new SluiceError('SLUICE_ERR_CONFIG', 'sluice checks import needs a file');
      return await importChecks(target, await readChecks(file), out);
    }
    if (sub === 'export') {
      const format = args.flags.format ?? 'yaml';
      if (format !== 'yaml' && format !== 'json')
        throw new SluiceError('SLUICE_ERR_CONFIG', `--format must be yaml or json, got "${format}"`);
      out(await exportChecks(target, format));
      return 0;
    }
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    const cause = (err as { cause?: unknown }).cause;
    out(`sluice checks ${sub}: ${target.url}: ${errorMessage(err)}${cause ? ` (${errorMessage(cause)})` : ''}`);
    return 1;
  }
  throw new SluiceError('SLUICE_ERR_CONFIG', `unknown subcommand "${sub}": import or export`);
}

interface Collector {
  url: string;
  headers: Record<string, string>;
}

function collector(args: ParsedArgs): Collector {
  const f = args.flags;
  const { config } = configFromFlags(Object.fromEntries(Object.entries(f).filter(([k]) => !OWN.has(k))));
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const token = f.token ?? config.auth.adminTokens[0];
  return {
    url: (f.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`).replace(/\/+$/, ''),
    headers: token ? { authorization: `Bearer ${token}` } : {},
  };
}

/** The checks of a YAML or JSON file: a list, or the `checks` list of an object. */
export async function readChecks(file: string): Promise<unknown[]> {
  let doc: unknown;
  try {
    doc = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SluiceError('SLUICE_ERR_CONFIG', `${file}: ${errorMessage(err)}`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { checks?: unknown } | null)?.checks;
  if (!Array.isArray(list))
    throw new SluiceError('SLUICE_ERR_CONFIG', `${file}: expected a list of checks, or "checks:" with a list`);
  return list;
}

async function importChecks(c: Collector, checks: unknown[], out: (s: string) => void): Promise<number> {
  const res = await fetch(`${c.url}/admin/checks`, {
    method: 'POST',
    headers: { ...c.headers, 'content-type': 'application/json' },
    body: JSON.stringify(checks),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    out(`import refused (${res.status}): ${String(body.message ?? res.statusText)}`);
    return 1;
  }
  out(`${body.created} created, ${body.updated} updated, ${body.unchanged} unchanged`);
  return 0;
}

async function exportChecks(c: Collector, format: 'yaml' | 'json'): Promise<string> {
  const res = await fetch(`${c.url}/admin/checks`, { headers: c.headers });
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  const views = (await res.json()) as Array<Record<string, unknown>>;
  const checks = views
    .filter((v) => v.source === 'api')
    .map((v) => Object.fromEntries(Object.entries(v).filter(([k]) => !META.includes(k))));
  return format === 'json' ? JSON.stringify({ checks }, null, 2) : toYaml({ checks }).trimEnd();
}
