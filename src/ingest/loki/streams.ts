// The shape both Loki push encodings (JSON, snappy protobuf) decode into, before mapping to
// records: streams of labels and entries. Times are already microseconds (Loki sends ns).
import { SluiceError } from '../../errors.js';

export interface LokiEntry {
  /** Microseconds since the epoch, from the entry's nanoseconds (the last three digits dropped). */
  us: number;
  line: string;
  /** Structured metadata, in the order sent. */
  metadata: Array<[string, string]> | undefined;
}

export interface LokiStream {
  labels: Array<[string, string]>;
  entries: LokiEntry[];
}

/**
 * Longest label set of one stream, as text (the protobuf form's `{a="b"}`, or the JSON form's
 * names and values added up); also of one entry's structured metadata (names and values). Loki's own limits are far lower (15 names, values of 2 KiB);
 * past this the labels would be parsed, copied and serialised in one go (10 MiB: ~100 ms).
 */
export const MAX_LABELS_CHARS = 64 * 1024;

export function labelsTooLong(index: number): SluiceError {
  return pushError(`stream ${index}: its labels are longer than ${MAX_LABELS_CHARS} characters`);
}

export function metadataTooLong(where = 'an entry'): SluiceError {
  return pushError(`${where}: structured metadata is longer than ${MAX_LABELS_CHARS} characters`);
}

/** A 400 worded as Loki words it (plain text); nothing from the request is stored. */
export function pushError(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_LOKI_PUSH', message);
}

/** Microseconds from a decimal string of nanoseconds; undefined when it is not one. */
export function nanosToMicros(ns: string): number | undefined {
  if (!/^\d{1,19}$/.test(ns)) return undefined;
  return ns.length <= 3 ? 0 : Number(ns.slice(0, -3));
}
