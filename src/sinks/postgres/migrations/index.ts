// Every migration, in order. Add a file per migration and list it here.
import { initialSchema } from './001-initial.js';
import { checkState } from '../../../health/migrations/002-check-state.js';
import { queryIndexes } from './003-query-indexes.js';
import type { Migration } from '../../../postgres/migration.js';

export const MIGRATIONS: readonly Migration[] = [initialSchema, checkState, queryIndexes];
