// The access part's migrations (the api_keys table), applied with the others in version order.
import type { Migration } from '../../postgres/migration.js';
import { apiKeys } from './015-api-keys.js';

export const ACCESS_MIGRATIONS: readonly Migration[] = [apiKeys];
