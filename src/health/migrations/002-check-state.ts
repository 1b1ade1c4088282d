// Migration 2: the health checker's per-check state (up/down/degraded/unknown and since when),
// so a restart resumes from the last known state instead of alerting on every check again.
import type { Migration } from '../../postgres/migration.js';

export const checkState: Migration = {
  version: 2,
  name: 'health check state',
  sql: `
CREATE TABLE check_state (
  check_id   text        PRIMARY KEY,
  state      text        NOT NULL,
  since      timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
};
