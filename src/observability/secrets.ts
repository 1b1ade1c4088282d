// The one place that decides what is secret and how it is hidden, for everything Sluice prints
// or answers: URLs (the password in userinfo, and query parameters like ?password= or ?token=),
// HTTP header values (authorization, cookies, API keys) and libpq keyword strings.
// Masking keeps the shape visible (host, database, header names) so a reader can still debug.

export const MASK = '***';

/** Query parameters and header names whose value is a secret. */
const SECRET_NAME = new RegExp(
  [
    'pass(word|wd)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|auth',
    'cookie|session|signature|credential|private[-_]?key|sslkey',
  ].join('|'),
  'i',
);

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * A URL with its userinfo password and every secret-named query parameter replaced by ***.
 * A string that is not a URL has `password=...`-style pairs masked (libpq keyword form).
 */
export function maskUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\b([\w-]*(?:pass(?:word|wd)?|pwd|secret|token|key)[\w-]*)\s*=\s*('[^']*'|\S+)/gi, `$1=${MASK}`);
  }
  let changed = false;
  if (u.password !== '') {
    u.password = MASK;
    changed = true;
  }
  for (const name of [...u.searchParams.keys()]) {
    if (isSecretName(name)) {
      u.searchParams.set(name, MASK);
      changed = true;
    }
  }
  return changed ? u.toString() : url;
}

/** Header values with secret-looking names replaced by *** (names kept). */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = isSecretName(k) ? MASK : v;
  return out;
}
