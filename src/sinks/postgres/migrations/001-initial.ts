// Migration 1: the tables every sink write and the health checker use. Kept as a TypeScript
// string because tsc does not copy .sql files into dist/. Never edit an applied migration: add one.
import type { Migration } from '../../../postgres/migration.js';

export const initialSchema: Migration = {
  version: 1,
  name: 'initial schema',
  sql: `
-- Logs, one partition per UTC day on ts (created ahead and dropped after retention by
-- partitions.ts); logs_default catches records outside the daily partitions, so an odd
-- timestamp never fails a batch. Columns are named after LogRecord's fields.
CREATE TABLE logs (
  id          text        NOT NULL,
  ts          timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  level       text        NOT NULL,
  service     text,
  message     text,
  attrs       jsonb,
  trace_id    text,
  span_id     text
) PARTITION BY RANGE (ts);
CREATE TABLE logs_default PARTITION OF logs DEFAULT;
-- "latest logs", time-range scans and keyset pagination (ORDER BY ts DESC).
CREATE INDEX logs_ts_idx ON logs (ts);
-- the log explorer's main filter: one service over a time range.
CREATE INDEX logs_service_ts_idx ON logs (service, ts);
-- "errors in the last hour": a level over a time range (level alone is too unselective).
CREATE INDEX logs_level_ts_idx ON logs (level, ts);

-- Health pings pushed by services (HealthRecord).
CREATE TABLE health_pings (
  id          text        NOT NULL,
  ts          timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  service     text        NOT NULL,
  status      text        NOT NULL,
  latency_ms  double precision,
  message     text,
  attrs       jsonb
);
CREATE INDEX health_pings_service_ts_idx ON health_pings (service, ts DESC);

-- Results of registered health checks (CheckRecord).
CREATE TABLE check_results (
  id          text        NOT NULL,
  ts          timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  check_id    text        NOT NULL,
  check_name  text        NOT NULL,
  kind        text        NOT NULL,
  ok          boolean     NOT NULL,
  status      text        NOT NULL,
  latency_ms  double precision,
  status_code integer,
  error_class text,
  message     text,
  details     jsonb
);
CREATE INDEX check_results_check_ts_idx ON check_results (check_id, ts DESC);

-- Registered health checks, persisted by the health checker.
CREATE TABLE checks (
  id         text PRIMARY KEY,
  definition jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per committed batch, written in the batch's own transaction: a retry of a batch
-- whose COMMIT reply was lost finds its id here and is counted as done.
CREATE TABLE sluice_batches (
  batch_id     text PRIMARY KEY,
  committed_at timestamptz NOT NULL DEFAULT now(),
  records      integer     NOT NULL
);
CREATE INDEX sluice_batches_committed_at_idx ON sluice_batches (committed_at);

-- Record ids already stored, per record type (only written when postgres.dedupe is on).
CREATE TABLE sluice_record_ids (
  type    text        NOT NULL,
  id      text        NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (type, id)
);
CREATE INDEX sluice_record_ids_seen_at_idx ON sluice_record_ids (seen_at);
`,
};
