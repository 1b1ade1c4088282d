// Loads the effective config: schema defaults < config file < environment < flags.
// Every value is validated once here; a bad one stops start-up with a message naming
// the key, the value, where it came from, and what is allowed.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { ENV_ALIASES, SECRET_KEYS, configSchema, type Config } from './schema.js';
import { redactUrlPassword } from '../postgres/url.js';
import { maskChannel, type Channel } from '../health/notify/schema.js';
import { MASK, maskUrl } from '../observability/secrets.js';

export type KeyKind = 'number' | 'boolean' | 'string' | 'enum' | 'list' | 'json';

export interface KeyInfo {
  key: string;
  kind: KeyKind;
  default: unknown;
  description: string;
  options?: readonly string[];
  env: string[];
  secret: boolean;
}

export interface ConfigSources {
  /** Path to a YAML or JSON file (else SLUICE_CONFIG from env, else none). */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Dotted key → raw string value, from the command line. */
  flags?: Record<string, string>;
}

export interface LoadedConfig {
  config: Config;
  /** Where each key's value came from: default, file, env NAME, or flag. */
  origins: Map<string, string>;
}

/** `ingest.enqueueTimeoutMs` → `SLUICE_INGEST_ENQUEUE_TIMEOUT_MS`. */
export function envName(key: string): string {
  return (
    'SLUICE_' +
    key
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/\./g, '_')
      .toUpperCase()
  );
}

function leafInfo(key: string, schema: z.ZodType): KeyInfo {
  let inner: z.ZodType = schema;
  let def: unknown;
  const description = schema.description ?? '';
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      def = (inner.def as { defaultValue: unknown }).defaultValue;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
      inner = inner.unwrap() as z.ZodType;
    } else break;
  }
  let kind: KeyKind = 'json';
  let options: readonly string[] | undefined;
  if (inner instanceof z.ZodNumber) kind = 'number';
  else if (inner instanceof z.ZodBoolean) kind = 'boolean';
  else if (inner instanceof z.ZodEnum) {
    kind = 'enum';
    options = inner.options as readonly string[];
  } else if (inner instanceof z.ZodString) kind = 'string';
  else if (inner instanceof z.ZodArray && inner.element instanceof z.ZodString) kind = 'list';
  const env = [envName(key), ...(ENV_ALIASES[key] ?? [])];
  const info: KeyInfo = { key, kind, default: def, description, env, secret: SECRET_KEYS.has(key) };
  if (options) info.options = options;
  return info;
}

function walk(prefix: string, schema: z.ZodType, out: KeyInfo[]): void {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodPrefault) s = s.unwrap() as z.ZodType;
  if (s instanceof z.ZodObject && prefix.split('.').length < 2) {
    for (const [k, v] of Object.entries(s.shape as Record<string, z.ZodType>))
      walk(prefix ? `${prefix}.${k}` : k, v, out);
    return;
  }
  out.push(leafInfo(prefix, schema));
}

let keyCache: KeyInfo[] | undefined;

/** Every config key, in schema order. Keys are `section.name`. */
export function configKeys(): KeyInfo[] {
  if (!keyCache) {
    keyCache = [];
    walk('', configSchema, keyCache);
  }
  return keyCache;
}

function configError(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_CONFIG', message);
}

/** Turns a string from env or a flag into the key's type; leaves it as-is when it does not fit so validation names it. */
function coerce(info: KeyInfo, raw: string): unknown {
  const s = raw.trim();
  switch (info.kind) {
    case 'number':
      return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s) ? Number(s) : raw;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(s)) return true;
      if (/^(false|0|no|off)$/i.test(s)) return false;
      return raw;
    case 'list':
      if (s.startsWith('[')) return parseJsonOr(raw);
      return s === ''
        ? []
        : s
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== '');
    case 'json':
      return parseJsonOr(raw);
    default:
      return raw;
  }
}

function parseJsonOr(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw configError(
      `config file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw configError(`config file ${path} must hold a mapping of sections`);
  return data as Record<string, unknown>;
}

/** Flattens a nested file object onto known keys; an unknown key is an error (typos should not pass silently). */
function flattenFile(data: Record<string, unknown>, path: string, known: Map<string, KeyInfo>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [section, value] of Object.entries(data)) {
    if (known.has(section)) {
      out.set(section, value);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const isSection = [...known.keys()].some((k) => k.startsWith(`${section}.`));
      throw configError(
        isSection
          ? `config file ${path}: "${section}" must be a mapping of its keys (e.g. ${section}.<key>: value), not ${JSON.stringify(value)}`
          : `config file ${path}: unknown key "${section}"`,
      );
    }
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      const key = `${section}.${name}`;
      if (!known.has(key)) throw configError(`config file ${path}: unknown key "${key}"`);
      out.set(key, v);
    }
  }
  return out;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    node[p] ??= {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function allowed(info: KeyInfo | undefined, issue: z.core.$ZodIssue): string {
  if (info?.options) return `expected one of ${info.options.join(', ')}`;
  return issue.message.replace(/^Invalid input: /, '');
}

export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const env = sources.env ?? process.env;
  const keys = configKeys();
  const known = new Map(keys.map((k) => [k.key, k]));
  const values = new Map<string, unknown>();
  const origins = new Map<string, string>();

  const file = sources.file ?? env.SLUICE_CONFIG;
  if (file) {
    for (const [k, v] of flattenFile(readConfigFile(file), file, known)) {
      values.set(k, v);
      origins.set(k, `file ${file}`);
    }
  }
  for (const info of keys) {
    // Aliases first so the SLUICE_* name wins when both are set.
    for (const name of [...info.env].reverse()) {
      const raw = env[name];
      if (raw === undefined || raw === '') continue;
      values.set(info.key, coerce(info, raw));
      origins.set(info.key, `env ${name}`);
    }
  }
  for (const [k, raw] of Object.entries(sources.flags ?? {})) {
    const info = known.get(k);
    if (!info) throw configError(`unknown option --${k} (see \`sluice config keys\`)`);
    values.set(k, coerce(info, raw));
    origins.set(k, `flag --${k}`);
  }

  const nested: Record<string, unknown> = {};
  for (const [k, v] of values) setPath(nested, k, v);
  const parsed = configSchema.safeParse(nested);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      // Keys are one level (`checks`) or two (`buffer.maxRecords`); deeper path parts are inside the value.
      const key = known.has(String(issue.path[0])) ? String(issue.path[0]) : issue.path.slice(0, 2).join('.');
      const inner = issue.path.slice(key.split('.').length);
      const info = known.get(key);
      let value: unknown = values.get(key);
      for (const p of inner) value = (value as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
      const shown = info?.secret ? '***' : JSON.stringify(value);
      const where = key + inner.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      return `  ${where} = ${shown} (from ${origins.get(key) ?? 'default'}): ${allowed(info, issue)}`;
    });
    throw configError(`invalid configuration:\n${lines.join('\n')}`);
  }
  for (const k of keys) if (!origins.has(k.key)) origins.set(k.key, 'default');
  return { config: parsed.data, origins };
}

/** A copy of the config with secret values replaced, for printing and logging. */
export function maskSecrets(config: Config): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const key of SECRET_KEYS) {
    const [section, name] = key.split('.') as [string, string];
    const v = copy[section]?.[name];
    if (v === undefined || v === null || v === '') continue;
    // A URL keeps its host and database visible: only the password is secret.
    copy[section]![name] = Array.isArray(v)
      ? v.map(() => '***')
      : (typeof v === 'string' && redactUrlPassword(v)) || '***';
  }
  // Notification channels keep their names, kinds and routing visible; only secrets go.
  const health = copy.health as { notifications?: Channel[] } | undefined;
  if (health?.notifications)
    health.notifications = health.notifications.map((c) => maskChannel(c, maskUrl, MASK) as never);
  return copy;
}
