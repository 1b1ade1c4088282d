// Maps one Elasticsearch document onto a log record, reading ECS names first (docs/ingest.md):
// @timestamp → ts, message → message, log.level (else level) → level, service.name (else a
// string service) → service, trace.id / span.id → trace_id / span_id, the action's _id → id.
// The fields read are taken out of the document (dotted or nested); the rest is attrs, with the
// index name under attrs._index. A level Sluice does not know stays in attrs (level info).
import { normaliseLevel, type LogRecord } from '../../record.js';
import { normaliseLog, type Normalised } from '../normalise.js';

type Doc = Record<string, unknown>;

function isObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Takes `a.b` from the document, dotted ("log.level") or nested ({log:{level}}); nested parents left empty are removed. */
function take(doc: Doc, parent: string, child: string, accept: (v: unknown) => boolean): unknown {
  const dotted = `${parent}.${child}`;
  if (Object.hasOwn(doc, dotted) && accept(doc[dotted])) {
    const v = doc[dotted];
    delete doc[dotted];
    return v;
  }
  const p = doc[parent];
  if (isObject(p) && Object.hasOwn(p, child) && accept(p[child])) {
    const v = p[child];
    delete p[child];
    if (Object.keys(p).length === 0) delete doc[parent];
    return v;
  }
  return undefined;
}

function takeTop(doc: Doc, key: string, accept: (v: unknown) => boolean): unknown {
  if (!Object.hasOwn(doc, key) || !accept(doc[key])) return undefined;
  const v = doc[key];
  delete doc[key];
  return v;
}

const isString = (v: unknown): boolean => typeof v === 'string';
const isLevel = (v: unknown): boolean => normaliseLevel(v) !== null;
const isShortString = (v: unknown): boolean => typeof v === 'string' && v.length <= 64;
const isTime = (v: unknown): boolean => v !== undefined && v !== null;

/** The record for a document (a parsed JSON object, which this consumes), or the field at fault. */
export function ecsToRecord(
  doc: Doc,
  index: string,
  id: string | undefined,
  receivedAt: number,
): Normalised<LogRecord> {
  const ts = takeTop(doc, '@timestamp', isTime);
  const message = takeTop(doc, 'message', isString);
  const level = take(doc, 'log', 'level', isLevel) ?? takeTop(doc, 'level', isLevel);
  const service = take(doc, 'service', 'name', isString) ?? takeTop(doc, 'service', isString);
  const traceId = take(doc, 'trace', 'id', isShortString);
  const spanId = take(doc, 'span', 'id', isShortString);
  doc._index = index;
  const r = normaliseLog(
    {
      attrs: doc,
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
  );
  if (!r.ok && r.problem.field === 'ts') r.problem.field = '@timestamp';
  if (!r.ok && r.problem.field === 'id') r.problem.field = '_id';
  return r;
}
