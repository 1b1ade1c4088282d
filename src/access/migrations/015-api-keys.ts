// Migration 15: API keys (access/key-store.ts). Only the SHA-256 digest of a key's secret is
// stored; revoking a key deletes its row.
import type { Migration } from '../../postgres/migration.js';

export const apiKeys: Migration = {
  version: 15,
  name: 'api keys',
  sql: `
CREATE TABLE api_keys (
  id          text        PRIMARY KEY,
  secret_hash text        NOT NULL,
  scope       text        NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
  tenant      text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz
);
`,
};
