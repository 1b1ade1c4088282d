// Talks to the collector's JSON API: one fetch wrapper that adds the admin token (kept in
// localStorage when the server asks for one) and turns a non-2xx answer into an ApiError
// carrying the server's body, so forms can show its field problems.
export interface FieldProblem {
  field: string;
  message: string;
}

export interface ErrorBody {
  error?: string;
  message?: string;
  field?: string;
  problems?: FieldProblem[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message ?? `HTTP ${status}`);
  }
}

const TOKEN_KEY = 'sluice.token';

export function token(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(t: string): void {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders() };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text };
  }
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new CustomEvent('sluice:unauthorized'));
    throw new ApiError(res.status, (body ?? {}) as ErrorBody);
  }
  return body as T;
}

export function query(params: Record<string, string | string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) if (one !== '') q.append(k, one);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
