// The shapes the UI reads from the API (see issue #12 and docs/health.md).
export interface LogRecord {
  id: string;
  ts: string;
  received_at?: string;
  level: string;
  service: string;
  message: string;
  attrs?: Record<string, unknown> | null;
  trace_id?: string | null;
  span_id?: string | null;
}

export interface LogPage {
  items: LogRecord[];
  next: string | null;
}

export interface ServiceSeen {
  /** null: records that named no service. */
  service: string | null;
  count?: number;
  last_seen?: string;
}

export type CheckStateName = 'unknown' | 'up' | 'degraded' | 'down';

export interface CheckResult {
  id: string;
  ts: string;
  ok: boolean;
  status: string;
  latency_ms: number | null;
  status_code: number | null;
  error_class: string | null;
  message: string | null;
  /** Kind-specific; `conditions` when the check has conditions (docs/health.md#conditions). */
  details?: { conditions?: ConditionOutcome[]; [key: string]: unknown } | null;
}

export interface ConditionOutcome {
  condition: string;
  ok: boolean;
  value: unknown;
  degraded?: true;
}

export interface CheckView {
  id: string;
  name: string;
  kind: string;
  interval: number;
  timeout: number;
  enabled: boolean;
  source: 'config' | 'api';
  state: CheckStateName;
  since: string;
  lastResult: CheckResult | null;
  [field: string]: unknown;
}

export interface Bucket {
  start: string;
  up: number;
  down: number;
  total: number;
  avg_latency_ms: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
}

export interface BucketHistory {
  bucket: 'hour' | 'day';
  items: Bucket[];
}

export interface StatusAnswer {
  checks: Array<{ id: string; uptime: { '24h': number | null; '7d': number | null; '30d': number | null } }>;
}
