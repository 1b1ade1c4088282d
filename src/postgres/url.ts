// Connection-URL helpers: hide the password wherever a URL is printed or logged, and point
// a URL at another database (tests create one database per file).

/** The URL with its password replaced by ***, or null when the string is not a URL with a password. */
export function redactUrlPassword(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.password === '') return null;
  u.password = '***';
  return u.toString();
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
