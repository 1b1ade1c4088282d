// Decodes a Loki push in its JSON form: {"streams":[{"stream":{labels},"values":[["<ns>","line",
// {structured metadata}?]]}]}, as pino-loki, Vector's loki sink (codec json) and curl send it.
// Parsed and checked in steps of bounded work (json-steps.ts), so a 10 MB push never holds the loop.
import { isUtf8 } from 'node:buffer';
import { JsonLimitError, parseJsonSteps } from '../json-steps.js';
import { runAtOnce, type Steps } from '../../steps.js';
import { tooMany } from './push-proto.js';
import {
  MAX_LABELS_CHARS,
  labelsTooLong,
  metadataTooLong,
  nanosToMicros,
  pushError,
  type LokiEntry,
  type LokiStream,
} from './streams.js';

/** A push is at most 5 levels deep; anything past this is not one, and is refused before JSON.parse builds it. */
const MAX_NESTING = 8;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The pairs of an object of strings; with `maxChars`, undefined once names and values add up to more. */
function pairs(o: Record<string, unknown>, what: string, maxChars = Infinity): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  let chars = 0;
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (typeof v !== 'string') throw pushError(`${what}: value of "${k}" must be a string, got ${JSON.stringify(v)}`);
    if ((chars += k.length + v.length) > maxChars) return undefined;
    out.push([k, v]);
  }
  return out;
}

function entry(v: unknown, where: string): LokiEntry {
  if (!Array.isArray(v) || v.length < 2 || v.length > 3)
    throw pushError(`${where}: must be an array ["<unix epoch in nanoseconds>", "<log line>", {structured metadata}?]`);
  const [ts, line, meta] = v as [unknown, unknown, unknown];
  const us = typeof ts === 'string' ? nanosToMicros(ts) : undefined;
  if (us === undefined)
    throw pushError(`${where}: timestamp ${JSON.stringify(ts)} must be a string of the Unix epoch in nanoseconds`);
  if (typeof line !== 'string') throw pushError(`${where}: log line must be a string`);
  let metadata: Array<[string, string]> | undefined;
  if (meta !== undefined && meta !== null) {
    if (!isObject(meta)) throw pushError(`${where}: structured metadata must be an object of strings`);
    metadata = pairs(meta, `${where}: structured metadata`, MAX_LABELS_CHARS);
    if (metadata === undefined) throw metadataTooLong(where);
  }
  return { us, line, metadata };
}

/** The push's streams, a step at a time; throws a 400 (Loki's wording) for a body that is not one. */
export function* decodePushJsonSteps(body: Buffer, maxEntries: number): Steps<LokiStream[]> {
  if (!isUtf8(body)) throw pushError('request body is not valid UTF-8');
  let v: unknown;
  try {
    // Entries are counted as the text is walked, before any value is built.
    const items = { depth: 4, max: maxEntries };
    v = yield* parseJsonSteps(body, 0, body.length, { depth: MAX_NESTING, keys: Infinity, items });
  } catch (err) {
    if (err instanceof JsonLimitError && err.over === 'items') throw tooMany(maxEntries);
    if (err instanceof JsonLimitError) throw pushError(`request body nests deeper than a push can (${MAX_NESTING})`);
    throw pushError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(v) || !Array.isArray(v.streams))
    throw pushError('request body must be an object {"streams":[{"stream":{...},"values":[[ts, line], ...]}]}');
  const streams: LokiStream[] = [];
  let count = 0;
  for (let i = 0; i < v.streams.length; i++) {
    const s: unknown = v.streams[i];
    if (!isObject(s)) throw pushError(`streams[${i}] must be an object {"stream":{...},"values":[...]}`);
    let labels: Array<[string, string]> | undefined;
    if (isObject(s.stream)) {
      labels = pairs(s.stream, `streams[${i}].stream`, MAX_LABELS_CHARS);
      if (labels === undefined) throw labelsTooLong(i);
    }
    if (labels === undefined && s.stream !== undefined && s.stream !== null)
      throw pushError(`streams[${i}].stream must be an object of label names to strings`);
    if (!Array.isArray(s.values)) throw pushError(`streams[${i}].values must be an array`);
    count += s.values.length;
    if (count > maxEntries) throw tooMany(maxEntries);
    const entries: LokiEntry[] = [];
    for (let j = 0; j < s.values.length; j++) {
      const e = entry(s.values[j], `streams[${i}].values[${j}]`);
      entries.push(e);
      // About the bytes the entry took in the body; checking it is cheaper than parsing it.
      yield e.line.length + 32;
    }
    streams.push({ labels: labels ?? [], entries });
  }
  return streams;
}

/** decodePushJsonSteps in one go. */
export function decodePushJson(body: Buffer, maxEntries: number): LokiStream[] {
  return runAtOnce(decodePushJsonSteps(body, maxEntries));
}
