// Every error Sluice reports to a client or an operator, with a stable code and its HTTP
// status. The HTTP layer maps SluiceError to a response in one place (http/error-handler.ts).

export interface FieldProblem {
  /** 1-based line for NDJSON bodies. */
  line?: number;
  /** 0-based position in a JSON array body (0 for a single object). */
  index?: number;
  field: string;
  message: string;
}

/**
 * The catalogue: each code's HTTP status and message. `{name}` in a message is filled in at the
 * throw site; `defaults` fill what a site leaves out, so a message said in several places is
 * written once, here.
 */
export const ERRORS = {
  SLUICE_ERR_INVALID_JSON: { status: 400, message: 'invalid JSON: {detail}' },
  SLUICE_ERR_INVALID_RECORD: { status: 400, message: '{where}: {detail}; nothing from this request was stored' },
  SLUICE_ERR_INVALID_OTLP: {
    status: 400,
    message: 'invalid OTLP {encoding} payload: {detail}; nothing from this request was stored',
  },
  SLUICE_ERR_EMPTY_BODY: { status: 400, message: 'no records: {detail}' },
  SLUICE_ERR_INVALID_GZIP: { status: 400, message: 'body is not valid {encoding}: {detail}' },
  // Loki push and Elasticsearch _bulk: the detail is the whole message, worded as those servers word theirs.
  SLUICE_ERR_LOKI_PUSH: { status: 400, message: '{detail}' },
  SLUICE_ERR_BULK_REQUEST: { status: 400, message: '{detail}' },
  SLUICE_ERR_UNSUPPORTED_ENCODING: { status: 415, message: 'unsupported Content-Encoding "{encoding}": {accepted}' },
  SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'unsupported {what}: send {accepted}',
    defaults: { what: 'Content-Type', accepted: 'application/json or application/x-ndjson' },
  },
  SLUICE_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body too large: {detail}' },
  SLUICE_ERR_TOO_MANY_RECORDS: { status: 413, message: 'too many records: {detail}' },
  SLUICE_ERR_BODY_TIMEOUT: { status: 408, message: 'timed out: {detail}' },
  SLUICE_ERR_UNAUTHORIZED: { status: 401, message: 'missing bearer token (Authorization: Bearer <token>)' },
  SLUICE_ERR_FORBIDDEN: { status: 403, message: 'token not accepted' },
  SLUICE_ERR_CLIENT_CERT_REQUIRED: {
    status: 401,
    message: 'client certificate required: ingest needs a certificate signed by the CA in server.tlsClientCa',
  },
  SLUICE_ERR_CLIENT_CERT_REJECTED: { status: 403, message: 'client certificate not accepted: {detail}' },
  SLUICE_ERR_WRONG_SCOPE: {
    status: 403,
    message: 'a key of scope {scope} cannot use {group} routes (accepted: {accepted})',
  },
  SLUICE_ERR_LOOPBACK_ONLY: {
    status: 403,
    message: 'the {group} routes answer loopback clients only while no token or key is set: {how}',
  },
  SLUICE_ERR_NOT_FOUND: { status: 404, message: 'no {what}' },
  SLUICE_ERR_INVALID_CHECK: { status: 400, message: 'invalid check: {field} {problem}' },
  SLUICE_ERR_INVALID_MAINTENANCE: { status: 400, message: 'invalid maintenance window: {field} {problem}' },
  SLUICE_ERR_TARGET_DENIED: { status: 400, message: '{target} is denied by {rule}; nothing was sent to it' },
  SLUICE_ERR_INVALID_KEY: { status: 400, message: 'invalid key request: {field} {problem}' },
  SLUICE_ERR_INVALID_QUERY: { status: 400, message: 'query parameter {field} {problem}' },
  SLUICE_ERR_CONFLICT: { status: 409, message: 'conflict: {detail}' },
  SLUICE_ERR_BUFFER_FULL: {
    status: 429,
    message: 'buffer full: {cause}; retry later',
    defaults: { cause: 'the sink is behind' },
  },
  SLUICE_ERR_TOO_MANY_SUBSCRIBERS: { status: 429, message: 'too many tail streams: {detail}' },
  SLUICE_ERR_BODY_BUDGET: { status: 429, message: 'too many body bytes in flight: {detail}' },
  SLUICE_ERR_RATE_LIMITED: {
    status: 429,
    message: 'rate limit exceeded: {client} sent more than {limit}; retry in {retry} s',
  },
  SLUICE_ERR_SHUTTING_DOWN: {
    status: 503,
    message: 'shutting down: {detail}',
    defaults: { detail: 'not accepting new records' },
  },
  SLUICE_ERR_SINK_FAILED: {
    status: 503,
    message: '{subject}: {detail}',
    defaults: { subject: 'the sink did not take the records' },
  },
  SLUICE_ERR_KEYS_NOT_LOADED: { status: 503, message: 'cannot check the key yet: {detail}' },
  SLUICE_ERR_NEEDS_POSTGRES: { status: 501, message: 'needs PostgreSQL: {detail}' },
  // The detail names the key or flag at fault and what it must be.
  SLUICE_ERR_CONFIG: { status: 500, message: '{detail}' },
  SLUICE_ERR_INTERNAL: {
    status: 500,
    message: 'internal error: {detail}',
    defaults: { detail: 'see the collector log' },
  },
} as const satisfies Record<string, { status: number; message: string; defaults?: Record<string, string> }>;

export type ErrorCode = keyof typeof ERRORS;

/** Values for a message's `{name}` placeholders; a string fills `{detail}`. */
export type ErrorDetails = string | Readonly<Record<string, string | number>>;

/** The catalogue message of `code` with its placeholders filled from `details`, then from the defaults. */
export function errorText(code: ErrorCode, details: ErrorDetails = {}): string {
  const spec: { message: string; defaults?: Readonly<Record<string, string>> } = ERRORS[code];
  const fill = typeof details === 'string' ? { detail: details } : details;
  return spec.message.replace(/\{(\w+)\}/g, (whole, name: string) =>
    String(fill[name] ?? spec.defaults?.[name] ?? whole),
  );
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly problems: FieldProblem[] | undefined;
  /** Seconds, for 429/503 responses. */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    details: ErrorDetails = {},
    opts: { problems?: FieldProblem[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(errorText(code, details), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.problems = opts.problems;
    this.retryAfter = opts.retryAfter;
  }

  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { error: this.code, message: this.message };
    if (this.problems && this.problems.length > 0) {
      const first = this.problems[0]!;
      if (first.line !== undefined) body.line = first.line;
      if (first.index !== undefined) body.index = first.index;
      body.field = first.field;
      body.problems = this.problems;
    }
    return body;
  }
}

/** Thrown by sinks for a batch that can never succeed (bad data), so it is dead-lettered at once. */
export class PermanentSinkError extends Error {
  readonly permanent = true;
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'PermanentSinkError';
  }
}

export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
