// `sluice load`: the load generator. Sends records to a running collector, prints throughput,
// status codes and latency, and with --verify checks in PostgreSQL that every accepted record
// landed exactly once and how long it took to get there.
import { SluiceError } from '../errors.js';
import { progressPrinter } from '../load/progress.js';
import { newRunId } from '../load/records.js';
import { runLoad, type LoadRunOptions } from '../load/run-load.js';
import { formatSummary } from '../load/summary.js';
import { Verifier, type VerifyResult } from '../load/verify.js';
import type { Config } from '../config/schema.js';
import type { ParsedArgs } from './args.js';
import { configFromFlags } from './config-flags.js';

export const LOAD_HELP = `Usage: sluice load [options]

Sends log records to a running collector with concurrent clients and reports throughput,
status codes and request latency (p50/p95/p99/max). Every record has a run-unique id
("<run>-<n>") and service ("load-<run>"), so --verify counts exactly this run's rows.

  --url URL             collector base URL (default: the address \`sluice serve\` listens on
                        with the same config: --config FILE / SLUICE_CONFIG, PORT,
                        SLUICE_SERVER_PORT, --port, --host; http://127.0.0.1:8080 by default)
  --path PATH           ingest route (default /logs)
  --records N           records to send (default 10000; unlimited with --duration)
  --clients C           concurrent clients, one connection each (default 50)
  --batch B             records per request (default 1: one JSON object per request)
  --format FMT          json (object or array) or ndjson (default json)
  --gzip                gzip request bodies (Content-Encoding: gzip)
  --rate R              records per second across all clients (default: full speed);
                        latency then counts from when each request was due
  --duration S          stop after S seconds even if records remain
  --timeout MS          per-request timeout (default 30000)
  --token TOKEN         bearer token (default: the first of the config's auth.ingestTokens)
  --run-id ID           id prefix for this run (default: generated)
  --service NAME        service of every record (default load-<run>)
  --verify URL          postgres:// URL of the collector's database: wait until every
                        accepted record is stored (or the count stops growing), report the
                        count, duplicates and end-to-end latency (record ts -> commit)
  --verify-timeout S    longest wait for the count (default 60)
  --json                print the result as JSON (for scripts)
  --quiet               no progress output
Exit code: 0 when done (and verified), 1 when nothing was accepted or --verify found
missing or duplicate rows, 2 for a usage mistake.

Example (the spec's demo): sluice load --records 10000 --clients 50 --verify "$DATABASE_URL"`;

/** One connection and one loop each: more than this is a typo, not a load test. */
const MAX_CLIENTS = 10_000;

function int(args: ParsedArgs, name: string, fallback: number, min: number, max = Infinity): number {
  const raw = args.flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (Number.isInteger(min) && !Number.isInteger(n))) {
    const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new SluiceError(
      'SLUICE_ERR_CONFIG',
      `--${name} must be ${Number.isInteger(min) ? 'an integer' : 'a number'} ${range}, got "${raw}"`,
    );
  }
  return n;
}

const KNOWN = new Set([
  'config',
  'port',
  'host',
  'url',
  'path',
  'records',
  'clients',
  'batch',
  'format',
  'rate',
  'duration',
  'timeout',
  'token',
  'run-id',
  'service',
  'verify',
  'verify-timeout',
]);

/**
 * Where `sluice serve` listens with this config, as a URL a client can reach: a wildcard
 * listen address is reached on the loopback address.
 */
export function collectorUrl(config: Config): string {
  const host = config.server.host;
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const scheme = config.server.tlsCert ? 'https' : 'http';
  return `${scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${config.server.port}`;
}

/** The config `serve` would run with, from the same sources (file, env, --port/--host). */
function serveConfig(args: ParsedArgs): Config {
  const flags: Record<string, string> = {};
  for (const k of ['config', 'port', 'host'] as const) if (args.flags[k] !== undefined) flags[k] = args.flags[k];
  return configFromFlags(flags).config;
}

function pathOf(path: string): string {
  if (!path.startsWith('/') || path.startsWith('//'))
    throw new SluiceError('SLUICE_ERR_CONFIG', `--path must be a path on the --url host, like /logs, got "${path}"`);
  return path;
}

export function loadRunFromArgs(args: ParsedArgs): LoadRunOptions & { verify?: string; verifyTimeoutMs: number } {
  for (const k of Object.keys(args.flags))
    if (!KNOWN.has(k)) throw new SluiceError('SLUICE_ERR_CONFIG', `unknown option --${k} (see sluice load --help)`);
  if (args.positionals.length)
    throw new SluiceError('SLUICE_ERR_CONFIG', `unexpected argument "${args.positionals[0]}" (see sluice load --help)`);
  // Only read when needed: an explicit --url and --token make the config irrelevant.
  const config = args.flags.url === undefined || args.flags.token === undefined ? serveConfig(args) : undefined;
  const url = args.flags.url ?? collectorUrl(config!);
  if (args.flags.url === undefined && config!.server.port === 0) {
    throw new SluiceError(
      'SLUICE_ERR_CONFIG',
      "the config sets server.port 0 (a free port, different on each start): give the collector's --url",
    );
  }
  const token = args.flags.token ?? config?.auth.ingestTokens[0];
  if (!/^https?:\/\//.test(url) || !URL.canParse(url))
    throw new SluiceError('SLUICE_ERR_CONFIG', `--url must be an http(s):// URL, got "${url}"`);
  const format = args.flags.format ?? 'json';
  if (format !== 'json' && format !== 'ndjson')
    throw new SluiceError('SLUICE_ERR_CONFIG', `--format must be json or ndjson, got "${format}"`);
  const durationMs = int(args, 'duration', 0, 0.001) * 1000;
  const runId = args.flags['run-id'] ?? newRunId();
  if (!/^[A-Za-z0-9_.]{1,64}$/.test(runId))
    throw new SluiceError('SLUICE_ERR_CONFIG', '--run-id must be 1-64 letters, digits, _ or .');
  const verify = args.flags.verify;
  if (verify !== undefined && !/^postgres(ql)?:\/\//.test(verify))
    throw new SluiceError('SLUICE_ERR_CONFIG', '--verify must be a postgres:// URL');
  return {
    url,
    path: pathOf(args.flags.path ?? '/logs'),
    records: args.flags.records === undefined && durationMs > 0 ? Infinity : int(args, 'records', 10_000, 1),
    clients: int(args, 'clients', 50, 1, MAX_CLIENTS),
    batch: int(args, 'batch', 1, 1),
    format,
    gzip: args.booleans.has('gzip'),
    rate: int(args, 'rate', 0, 0.001),
    durationMs,
    timeoutMs: int(args, 'timeout', 30_000, 1),
    ...(token ? { token } : {}),
    runId,
    service: args.flags.service ?? `load-${runId}`,
    ...(verify ? { verify } : {}),
    verifyTimeoutMs: int(args, 'verify-timeout', 60, 0.001) * 1000,
  };
}

export async function loadCommand(args: ParsedArgs, out: (s: string) => void): Promise<number> {
  if (args.booleans.has('help')) {
    out(LOAD_HELP);
    return 0;
  }
  const run = loadRunFromArgs(args);
  const json = args.booleans.has('json');
  let verifier: Verifier | undefined;
  if (run.verify) {
    try {
      verifier = await Verifier.connect(run.verify, run.runId, run.service);
    } catch (err) {
      throw new SluiceError('SLUICE_ERR_CONFIG', `--verify: cannot use that database: ${(err as Error).message}`);
    }
  }
  // Ctrl-C stops sending and still prints what was measured.
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  const progress = args.booleans.has('quiet')
    ? undefined
    : progressPrinter(process.stderr, run.records, run.durationMs);
  let verified: VerifyResult | undefined;
  try {
    verifier?.startWatching();
    const result = await runLoad(run, {
      signal: abort.signal,
      ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
    });
    progress?.end();
    let verifyError: string | undefined;
    if (verifier) {
      if (!json && !args.booleans.has('quiet'))
        process.stderr.write(`verifying: waiting for ${result.recordsAccepted} records in the database…\n`);
      try {
        verified = await verifier.finish(result.recordsAccepted, {
          timeoutMs: run.verifyTimeoutMs,
          quietMs: Math.min(5000, run.verifyTimeoutMs),
        });
      } catch (err) {
        // The load's own results still count: print them, and say why there is no verdict.
        verifyError = `--verify failed: ${(err as Error).message}`;
      }
    }
    out(
      json
        ? JSON.stringify({ load: result, verify: verified ?? (verifyError ? { error: verifyError } : null) }, null, 2)
        : formatSummary(result, verified) + (verifyError ? `\n${verifyError}` : ''),
    );
    if (verifyError) return 1;
    if (result.recordsAccepted === 0 || result.transportErrors > 0) return 1;
    if (verified && (verified.missing > 0 || verified.duplicates > 0)) return 1;
    return 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
    await verifier?.close();
  }
}
