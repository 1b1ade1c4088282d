// Migration 3: the index the read API needs beyond migration 1's (ts, service+ts, level+ts):
// trace_id, which no time range narrows. Indexes for q (trigram) and attr.* (jsonb GIN) were
// measured too (bench/query-latency.ts, docs/postgres.md) and left to operators: time-windowed
// queries meet their target without them, and they cost ingest far more than they save there.
import type { Migration } from '../../../postgres/migration.js';

export const queryIndexes: Migration = {
  version: 3,
  name: 'read API indexes',
  sql: `
-- trace_id: one trace's records, whatever their time (otherwise a scan of every partition; the
-- UI's "click a trace id" asks exactly this). Partial: records without a trace cost it nothing.
CREATE INDEX logs_trace_id_idx ON logs (trace_id) WHERE trace_id IS NOT NULL;
`,
};
