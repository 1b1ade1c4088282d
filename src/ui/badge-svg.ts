// Shields-style SVG badges ("label | value"), self-contained: no fonts or images fetched.
// Text width is estimated from per-character widths of 11 px Verdana, close enough for a badge.

const COLOURS: Record<string, string> = {
  up: '#2ea44f',
  degraded: '#dfb317',
  down: '#e05d44',
  unknown: '#9f9f9f',
  paused: '#9f9f9f',
  'not found': '#9f9f9f',
};

function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[ilj.,:;|!' ]/.test(ch) ? 3.6 : /[mwMW%]/.test(ch) ? 10 : /[A-Z0-9]/.test(ch) ? 7.4 : 6.6;
  return Math.round(w);
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Colour of an uptime percentage: green at 99.9 and up, shading to red below 95. */
export function uptimeColour(p: number | null): string {
  if (p === null) return COLOURS.unknown!;
  if (p >= 99.9) return '#2ea44f';
  if (p >= 99) return '#97ca00';
  if (p >= 95) return '#dfb317';
  return '#e05d44';
}

export function stateColour(state: string): string {
  return COLOURS[state] ?? COLOURS.unknown!;
}

export function badgeSvg(label: string, value: string, colour: string): string {
  const lw = textWidth(label) + 12;
  const vw = textWidth(value) + 12;
  const w = lw + vw;
  const l = escapeXml(label);
  const v = escapeXml(value);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${l}: ${v}">
<title>${l}: ${v}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${vw}" height="20" fill="${colour}"/><rect width="${w}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="${lw / 2}" y="15" fill="#010101" fill-opacity=".3">${l}</text><text x="${lw / 2}" y="14">${l}</text>
<text x="${lw + vw / 2}" y="15" fill="#010101" fill-opacity=".3">${v}</text><text x="${lw + vw / 2}" y="14">${v}</text>
</g>
</svg>
`;
}
