// Maps one Elasticsearch document onto a log record, reading ECS names first (docs/ingest.md):
// @timestamp (else timestamp) → ts, message → message, log.level (else level) → level, service.name (else a
// string service) → service, trace.id / span.id → trace_id / span_id, the action's _id → id.
// The fields read are taken out of the document (dotted or nested); the rest is attrs, with the
// index name under attrs._index. A level Sluice does not know stays in attrs (level info).
import { normaliseLevel, type LogRecord } from '../../record.js';
import { normaliseLog, type Normalised, type Serialise } from '../normalise.js';

type Doc = Record<string, unknown>;

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What the mapping took from a document: left out of attrs (the document itself is not changed). */
interface Taken {
  top: Set<string>;
  /** parent → child taken from a nested object. */
  nested: Map<string, string>;
}

/** Reads `a.b` from the document, dotted ("log.level") or nested ({log:{level}}), and marks it taken. */
function take(doc: Doc, taken: Taken, parent: string, child: string, accept: (v: unknown) => boolean): unknown {
  const dotted = `${parent}.${child}`;
  if (Object.hasOwn(doc, dotted) && accept(doc[dotted])) {
    taken.top.add(dotted);
    return doc[dotted];
  }
  const p = doc[parent];
  if (isObject(p) && Object.hasOwn(p, child) && accept(p[child])) {
    taken.nested.set(parent, child);
    return p[child];
  }
  return undefined;
}

function takeTop(doc: Doc, taken: Taken, key: string, accept: (v: unknown) => boolean): unknown {
  if (!Object.hasOwn(doc, key) || !accept(doc[key])) return undefined;
  taken.top.add(key);
  return doc[key];
}

function put(o: Doc, k: string, v: unknown): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/**
 * The document less what was taken, plus _index. Built as a copy rather than by deleting from
 * the document: deletes turn V8 objects into slower dictionary-mode ones.
 */
function rest(doc: Doc, taken: Taken, index: string): Doc {
  const out: Doc = {};
  for (const k in doc) {
    if (taken.top.has(k)) continue;
    const child = taken.nested.get(k);
    if (child === undefined) {
      put(out, k, doc[k]);
      continue;
    }
    const parent = doc[k] as Doc;
    let copy: Doc | undefined;
    for (const c in parent) if (c !== child) put((copy ??= {}), c, parent[c]);
    if (copy) put(out, k, copy);
  }
  out._index = index;
  return out;
}

const isString = (v: unknown): boolean => typeof v === 'string';
const isLevel = (v: unknown): boolean => normaliseLevel(v) !== null;
const isShortString = (v: unknown): boolean => typeof v === 'string' && v.length <= 64;
const isTime = (v: unknown): boolean => v !== undefined && v !== null;

/** The record for a document (a parsed JSON object), or the field at fault. */
export function ecsToRecord(
  doc: Doc,
  index: string,
  id: string | undefined,
  receivedAt: number,
  serialise?: Serialise,
): Normalised<LogRecord> {
  const taken: Taken = { top: new Set(), nested: new Map() };
  // Vector's events carry their time in `timestamp`: read when there is no ECS @timestamp.
  const ts = takeTop(doc, taken, '@timestamp', isTime) ?? takeTop(doc, taken, 'timestamp', isTime);
  const message = takeTop(doc, taken, 'message', isString);
  const level = take(doc, taken, 'log', 'level', isLevel) ?? takeTop(doc, taken, 'level', isLevel);
  const service = take(doc, taken, 'service', 'name', isString) ?? takeTop(doc, taken, 'service', isString);
  const traceId = take(doc, taken, 'trace', 'id', isShortString);
  const spanId = take(doc, taken, 'span', 'id', isShortString);
  const r = normaliseLog(
    {
      attrs: rest(doc, taken, index),
      ...(ts !== undefined ? { ts } : {}),
      ...(message !== undefined ? { message } : {}),
      ...(level !== undefined ? { level } : {}),
      ...(service !== undefined ? { service } : {}),
      ...(traceId !== undefined ? { trace_id: traceId } : {}),
      ...(spanId !== undefined ? { span_id: spanId } : {}),
      ...(id !== undefined ? { id } : {}),
    },
    {},
    receivedAt,
    serialise,
  );
  if (!r.ok && r.problem.field === 'ts') r.problem.field = taken.top.has('@timestamp') ? '@timestamp' : 'timestamp';
  if (!r.ok && r.problem.field === 'id') r.problem.field = '_id';
  return r;
}
