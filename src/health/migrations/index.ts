// Health's migrations, beside the SQL that uses their tables (store.ts, history.ts). The
// `checks` table itself came with migration 1, before health had migrations of its own.
import type { Migration } from '../../postgres/migration.js';
import { checkState } from './002-check-state.js';
import { maintenanceWindows } from './020-maintenance-windows.js';

export const HEALTH_MIGRATIONS: readonly Migration[] = [checkState, maintenanceWindows];
