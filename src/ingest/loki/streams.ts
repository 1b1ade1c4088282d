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

/** A 400 worded as Loki words it (plain text); nothing from the request is stored. */
export function pushError(message: string): SluiceError {
  return new SluiceError('SLUICE_ERR_LOKI_PUSH', message);
}

/** Microseconds from a decimal string of nanoseconds; undefined when it is not one. */
export function nanosToMicros(ns: string): number | undefined {
  if (!/^\d{1,19}$/.test(ns)) return undefined;
  return ns.length <= 3 ? 0 : Number(ns.slice(0, -3));
}
