// Every error Sluice reports to a client or an operator, with a stable code and its HTTP
// status. The HTTP layer maps SluiceError to a response in one place (ingest/error-handler.ts).

export interface FieldProblem {
  /** 1-based line for NDJSON bodies. */
  line?: number;
  /** 0-based position in a JSON array body (0 for a single object). */
  index?: number;
  field: string;
  message: string;
}

export const ERROR_CODES = {
  SLUICE_ERR_INVALID_JSON: 400,
  SLUICE_ERR_INVALID_RECORD: 400,
  SLUICE_ERR_EMPTY_BODY: 400,
  SLUICE_ERR_INVALID_GZIP: 400,
  SLUICE_ERR_UNSUPPORTED_ENCODING: 415,
  SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  SLUICE_ERR_BODY_TOO_LARGE: 413,
  SLUICE_ERR_TOO_MANY_RECORDS: 413,
  SLUICE_ERR_BODY_TIMEOUT: 408,
  SLUICE_ERR_UNAUTHORIZED: 401,
  SLUICE_ERR_FORBIDDEN: 403,
  SLUICE_ERR_NOT_FOUND: 404,
  SLUICE_ERR_INVALID_CHECK: 400,
  SLUICE_ERR_INVALID_QUERY: 400,
  SLUICE_ERR_CONFLICT: 409,
  SLUICE_ERR_BUFFER_FULL: 429,
  SLUICE_ERR_TOO_MANY_SUBSCRIBERS: 429,
  SLUICE_ERR_BODY_BUDGET: 429,
  SLUICE_ERR_SHUTTING_DOWN: 503,
  SLUICE_ERR_SINK_FAILED: 503,
  SLUICE_ERR_NEEDS_POSTGRES: 501,
  SLUICE_ERR_CONFIG: 500,
  SLUICE_ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly problems: FieldProblem[] | undefined;
  /** Seconds, for 429/503 responses. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { problems?: FieldProblem[]; retryAfter?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.statusCode = ERROR_CODES[code];
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
