// The shape of an API key: `sluice_<id>_<secret>`. The id is public (listed, logged, the rate
// limits' key); the secret is 32 random bytes, kept only as its SHA-256 digest. With that much
// entropy a plain digest is enough: nobody can guess a preimage, so no slow hash is needed.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const FORM = /^sluice_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export const digestHex = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export function newKey(): { id: string; key: string; hash: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, key: `sluice_${id}_${secret}`, hash: digestHex(secret) };
}

/** The id and the secret's digest of a well-formed key, else undefined. */
export function parseKey(key: string): { id: string; hash: Buffer } | undefined {
  const m = FORM.exec(key);
  return m ? { id: m[1]!, hash: createHash('sha256').update(m[2]!).digest() } : undefined;
}

/** Constant-time comparison of a presented secret's digest with a stored one (hex). */
export function sameDigest(given: Buffer, storedHex: string): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  return stored.length === given.length && timingSafeEqual(stored, given);
}
