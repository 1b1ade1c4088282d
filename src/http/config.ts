// Config keys of the HTTP server and of route auth (composed into the one config schema in
// config/schema.ts).
import { z } from 'zod';
import { tlsConfigShape } from './tls-config.js';

const tokenList = z.array(z.string().min(8)).default([]);

export const serverConfig = z
  .object({
    role: z
      .enum(['all', 'ingest', 'writer'])
      .default('all')
      .describe(
        'all: one process does everything; ingest: publish batches to JetStream (nats.*) and answer 202 on its ack; writer: consume them into the sink (docs/scale-out.md)',
      ),
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server listens on'),
    port: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(8080)
      .describe('HTTP port (env PORT also works); 0 picks a free port'),
    // Each connection costs a socket and its buffers; past the cap new ones are closed at once.
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(4096)
      .describe('Open client connections the server keeps; past it new connections are closed at once'),
    headersTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe('Time a client has to send its request headers (408 and close after)'),
    // Above the 60 s idle timeout of common load balancers, so they close first (no race on reuse).
    keepAliveTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(72_000)
      .describe('How long an idle keep-alive connection stays open'),
    ...tlsConfigShape,
  })
  .prefault({});

export type ServerConfig = z.infer<typeof serverConfig>;

export const authConfig = z
  .object({
    ingestTokens: tokenList.describe(
      'Bearer tokens accepted on ingest routes (comma-separated in env); none and no ingest key: ingest is open',
    ),
    adminTokens: tokenList.describe(
      'Bearer tokens for /admin/* and the read routes; none and no admin key: admin routes answer loopback clients only',
    ),
    readTokens: tokenList.describe(
      'Read-only bearer tokens (GET /api/*, GET /admin/jobs, GET /admin/checks); none and no read or admin key: reads answer loopback clients only',
    ),
    keysFile: z
      .string()
      .min(1)
      .default('./data/keys.json')
      .describe('Where API keys are kept when the sink is not postgres (with postgres: the api_keys table)'),
  })
  .prefault({});

export type AuthConfig = z.infer<typeof authConfig>;
