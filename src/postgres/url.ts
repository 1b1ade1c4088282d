// Connection-URL helpers: hide the password wherever a URL is printed or logged, and point
// a URL at another database (tests create one database per file).
import { maskUrl } from '../observability/secrets.js';

/** The URL with its secrets masked (observability/secrets.ts), or null when it holds none. */
export function redactUrlPassword(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const masked = maskUrl(url);
  return masked === url ? null : masked;
}

/** A safe-to-log form of a connection URL (password hidden, whatever the input). */
export function safeUrl(url: string): string {
  return redactUrlPassword(url) ?? (URL.canParse(url) ? url : '(unparsable URL)');
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
