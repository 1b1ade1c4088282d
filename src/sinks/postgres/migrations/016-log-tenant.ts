// Migration 16: the tenant of a log record (the sending key's; null without one), so the read
// API can show a tenant's key only its own records and retention can differ per tenant. The
// index is partial: collectors without tenants pay nothing for it on writes.
import type { Migration } from '../../../postgres/migration.js';

export const logTenant: Migration = {
  version: 16,
  name: 'log tenant',
  sql: `
ALTER TABLE logs ADD COLUMN tenant text;
CREATE INDEX logs_tenant_ts_idx ON logs (tenant, ts DESC) WHERE tenant IS NOT NULL;
`,
};
