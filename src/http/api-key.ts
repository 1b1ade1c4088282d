// The API key the auth hook identified on a request, read through one accessor: lane access
// decorates `request.apiKey`; until its type lands here this reads the agreed shape.
import type { FastifyRequest } from 'fastify';

export interface KeyIdentity {
  id: string;
  rateLimit?: {
    requestsPerSecond?: number;
    recordsPerSecond?: number;
    bytesPerSecond?: number;
    burst?: number;
  };
}

export function apiKeyOf(req: FastifyRequest): KeyIdentity | undefined {
  const key = (req as { apiKey?: KeyIdentity | null }).apiKey;
  return key ?? undefined;
}
