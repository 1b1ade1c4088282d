// Markdown helpers for the results file: tables, number formats, and the PASS/FAIL verdict
// printed next to every ratio that has a target.
export function mdTable(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), `|${headers.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** 12345.6 → "12,346"; small numbers keep a few significant digits. */
export function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function ratio(x: number | null | undefined): string {
  // Three decimals: a ratio next to its target must not round onto the other side of it.
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(3)}×`;
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`;
}

export interface Verdict {
  target: string;
  pass: boolean | null;
}

/** ≥ target (higher is better) or < / ≤ target (lower is better); null when not measured. */
export function verdict(
  value: number | null | undefined,
  op: '>=' | '<' | '<=',
  target: number,
  label = op === '>=' ? `≥ ${target}×` : op === '<' ? `< ${target}` : `≤ ${target}`,
): Verdict {
  if (value === null || value === undefined || !Number.isFinite(value)) return { target: label, pass: null };
  return { target: label, pass: op === '>=' ? value >= target : op === '<' ? value < target : value <= target };
}

export function showVerdict(v: Verdict): string {
  return `${v.target}: ${v.pass === null ? 'n/a' : v.pass ? '**PASS**' : '**FAIL**'}`;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
