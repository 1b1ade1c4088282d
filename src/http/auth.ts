// Bearer-token auth for a group of routes: 401 without a token, 403 with a wrong one.
// Tokens are compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { SluiceError } from '../errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function bearerAuth(tokens: readonly string[]): ((req: FastifyRequest) => Promise<void>) | undefined {
  if (tokens.length === 0) return undefined;
  const allowed = tokens.map(digest);
  return async (req) => {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    if (!m) throw new SluiceError('SLUICE_ERR_UNAUTHORIZED');
    const given = digest(m[1]!.trim());
    if (!allowed.some((t) => timingSafeEqual(t, given))) throw new SluiceError('SLUICE_ERR_FORBIDDEN');
  };
}
