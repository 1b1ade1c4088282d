// Config keys of the HTTP server and of route auth (composed into the one config schema in
// config/schema.ts).
import { z } from 'zod';

const tokenList = z.array(z.string().min(8)).default([]);

export const serverConfig = z
  .object({
    host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server listens on'),
    port: z.number().int().min(0).max(65535).default(8080).describe('HTTP port (env PORT also works); 0 picks a free port'),
  })
  .prefault({});

export type ServerConfig = z.infer<typeof serverConfig>;

export const authConfig = z
  .object({
    ingestTokens: tokenList.describe('Bearer tokens accepted on ingest routes (comma-separated in env); empty: no auth'),
    adminTokens: tokenList.describe('Bearer tokens accepted on /admin routes; empty: no auth'),
  })
  .prefault({});

export type AuthConfig = z.infer<typeof authConfig>;
