// Migration 20: maintenance windows created through the admin API, so they outlive a restart
// (config-file windows are not stored: the file is their home).
import type { Migration } from '../../postgres/migration.js';

export const maintenanceWindows: Migration = {
  version: 20,
  name: 'health maintenance windows',
  sql: `
CREATE TABLE maintenance_windows (
  id         text        PRIMARY KEY,
  definition jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
};
