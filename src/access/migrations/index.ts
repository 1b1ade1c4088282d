// The access part's migrations (the api_keys table, its rate_limit column), applied with the others in version order.
import type { Migration } from '../../postgres/migration.js';
import { apiKeys } from './015-api-keys.js';
import { apiKeyRateLimit } from './017-api-key-rate-limit.js';

export const ACCESS_MIGRATIONS: readonly Migration[] = [apiKeys, apiKeyRateLimit];
