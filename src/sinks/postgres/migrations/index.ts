// Every migration, in order. Add a file per migration and list it here.
import { initialSchema } from './001-initial.js';
import type { Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [initialSchema];
