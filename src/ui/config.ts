// Config keys of the public status page and badges (composed into config/schema.ts). The web
// UI itself has no keys: it is served with the admin API and guarded by its tokens.
import { z } from 'zod';

export const statusPageConfig = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe('Serve the public status page (/status, /status.json) and badges (/badge/...) without a token'),
    checks: z
      .array(z.string().min(1))
      .default([])
      .describe('Check ids or names shown on the status page and badges (comma-separated in env); empty: every check'),
    title: z.string().min(1).max(200).default('Service status').describe('Heading of the public status page'),
  })
  .prefault({});

export type StatusPageConfig = z.infer<typeof statusPageConfig>;
