// Validation messages that say what was given beside what is allowed: "got "ok"" tells a
// client which value to fix, where "is required" would send them looking for a missing field.

/** A short rendering of a client's value for a message: JSON, cut at 40 characters. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** "is required: one of a, b" when absent, else "must be one of a, b, got "x"". */
export function oneOf(value: unknown, allowed: readonly string[]): string {
  const list = allowed.join(', ');
  return value === undefined ? `is required: one of ${list}` : `must be one of ${list}, got ${shown(value)}`;
}
