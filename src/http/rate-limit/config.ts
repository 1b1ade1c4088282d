// Config keys of the rate limits on ingest routes (composed into the one config schema in
// config/schema.ts). Off by default: see docs/security.md#rate-limits for why.
import { z } from 'zod';

const perSecond = (what: string) =>
  z
    .number()
    .min(0)
    .default(0)
    .describe(`${what} a second each client (API key, else client address) may send to ingest routes; 0: no limit`);

export const rateLimitConfig = z
  .object({
    requestsPerSecond: perSecond('Requests'),
    recordsPerSecond: perSecond('Records'),
    bytesPerSecond: perSecond('Request body bytes'),
    burst: z
      .number()
      .positive()
      .default(2)
      .describe('Bucket size in seconds of each rate: an idle client may send rate × burst at once'),
    maxClients: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe('Clients (keys and addresses) whose buckets are kept; past it one not seen lately is forgotten'),
  })
  .prefault({});

export type RateLimitConfig = z.infer<typeof rateLimitConfig>;
