// Migration 17: a key's own rate limits (docs/security.md#rate-limits), NULL for keys that use
// the configured ones.
import type { Migration } from '../../postgres/migration.js';

export const apiKeyRateLimit: Migration = {
  version: 17,
  name: 'api key rate limits',
  sql: `ALTER TABLE api_keys ADD COLUMN rate_limit jsonb;`,
};
