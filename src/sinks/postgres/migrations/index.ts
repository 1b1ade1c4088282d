// The sink's migrations (its tables: logs, health_pings, check_results, batch and record ids,
// and the read API's indexes on logs). Add a file per migration and list it here; health
// lists its own beside its SQL.
import type { Migration } from '../../../postgres/migration.js';
import { initialSchema } from './001-initial.js';
import { queryIndexes } from './003-query-indexes.js';
import { logTenant } from './016-log-tenant.js';

export const SINK_MIGRATIONS: readonly Migration[] = [initialSchema, queryIndexes, logTenant];
