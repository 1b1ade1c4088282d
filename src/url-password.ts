// Hiding the password of a connection URL wherever one is printed or logged: a leaf, used by
// config printing and by the PostgreSQL sink alike.

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
