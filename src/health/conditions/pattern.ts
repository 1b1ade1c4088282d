// pat(): a glob where "*" stands for any run of characters (Gatus's pattern language) and
// everything else is literal, matched against the whole value. No regex engine is needed: the
// pieces between stars are found left to right with indexOf, and taking each piece's first
// occurrence is always right for star-only globs, so a match never goes back over the text
// and its time is linear in the text, whatever the pattern.

export interface Glob {
  /** The literal pieces around the stars; one piece means no star. */
  pieces: string[];
}

export function compileGlob(glob: string): Glob {
  return { pieces: glob.split('*') };
}

export function globMatches(g: Glob, text: string): boolean {
  const { pieces } = g;
  if (pieces.length === 1) return text === pieces[0];
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last)) return false;
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece === '') continue;
    const found = text.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}
