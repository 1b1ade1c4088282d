// Add or edit a check. The form sends what was typed (numbers as numbers, durations as
// strings) and lets the admin API validate it: a 400 names the field, and the message is shown
// next to that field (or above the form when the field has no input here).
import { useState } from 'preact/hooks';
import { api, ApiError, type FieldProblem } from './api.js';
import type { CheckView } from './types.js';

const KINDS = ['http', 'tcp', 'dns', 'tls', 'push'] as const;
type Kind = (typeof KINDS)[number];
const PROBED: readonly Kind[] = ['http', 'tcp', 'dns', 'tls'];

interface FieldSpec {
  name: string;
  label: string;
  kinds?: readonly Kind[];
  /** `lines`: a list, one item a line (a textarea). */
  type?: 'text' | 'number' | 'url' | 'lines';
  hint?: string;
}

const FIELDS: FieldSpec[] = [
  { name: 'name', label: 'Name' },
  { name: 'group', label: 'Group', hint: 'e.g. payments' },
  { name: 'tags', label: 'Tags', hint: 'comma-separated: prod, critical' },
  { name: 'url', label: 'URL', kinds: ['http'], type: 'url', hint: 'http:// or https://' },
  { name: 'method', label: 'Method', kinds: ['http'], hint: 'GET' },
  { name: 'expectedStatus', label: 'Expected status', kinds: ['http'], hint: '200-299' },
  { name: 'bodyContains', label: 'Body contains', kinds: ['http'] },
  { name: 'host', label: 'Host', kinds: ['tcp', 'tls'] },
  { name: 'port', label: 'Port', kinds: ['tcp', 'tls'], type: 'number' },
  { name: 'hostname', label: 'Host name', kinds: ['dns'] },
  { name: 'minDaysLeft', label: 'Min. days left', kinds: ['tls'], type: 'number', hint: '14' },
  { name: 'service', label: 'Service', kinds: ['push'], hint: 'the name' },
  { name: 'grace', label: 'Grace', kinds: ['push'], hint: '60s' },
  { name: 'interval', label: 'Interval', hint: '60s' },
  { name: 'timeout', label: 'Timeout', hint: 'min(10s, interval)' },
  { name: 'failureThreshold', label: 'Failures before down', type: 'number', hint: '2' },
  {
    name: 'conditions',
    label: 'Conditions',
    kinds: PROBED,
    type: 'lines',
    hint: 'one a line, all must hold, e.g. [STATUS] == 200',
  },
  {
    name: 'degradedConditions',
    label: 'Degraded conditions',
    kinds: PROBED,
    type: 'lines',
    hint: 'one a line; failing one means degraded, e.g. [RESPONSE_TIME] < 300',
  },
];

const META = new Set(['id', 'state', 'since', 'lastResult', 'source', 'createdAt', 'updatedAt', 'uptime']);
const DURATIONS = new Set(['interval', 'timeout', 'grace']);

/** The stored definition of a check, as a PUT body (view-only fields removed). */
export function definitionOf(c: CheckView): Record<string, unknown> {
  return Object.fromEntries(Object.entries(c).filter(([k]) => !META.has(k)));
}

function msText(v: unknown): string {
  if (typeof v !== 'number') return v === undefined || v === null ? '' : String(v);
  if (v % 3_600_000 === 0) return `${v / 3_600_000}h`;
  if (v % 60_000 === 0) return `${v / 60_000}m`;
  if (v % 1000 === 0) return `${v / 1000}s`;
  return `${v}ms`;
}

function initial(c: CheckView | undefined): Record<string, string> {
  const out: Record<string, string> = { kind: c?.kind ?? 'http' };
  for (const f of FIELDS) {
    const v = c?.[f.name];
    if (v === undefined || v === null) out[f.name] = '';
    else if (DURATIONS.has(f.name)) out[f.name] = msText(v);
    else if (Array.isArray(v)) out[f.name] = v.join(f.type === 'lines' ? '\n' : ',');
    else out[f.name] = String(v);
  }
  return out;
}

export function CheckForm({
  check,
  onDone,
  onCancel,
}: {
  check?: CheckView;
  onDone: (c: CheckView) => void;
  onCancel: () => void;
}) {
  const [values, setValues] = useState(() => initial(check));
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [general, setGeneral] = useState('');
  const [busy, setBusy] = useState(false);
  const kind = values.kind as Kind;
  const shown = FIELDS.filter((f) => !f.kinds || f.kinds.includes(kind));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblems([]);
    setGeneral('');
    const body: Record<string, unknown> = check ? definitionOf(check) : {};
    body.kind = kind;
    for (const f of FIELDS) {
      if (f.kinds && !f.kinds.includes(kind)) continue;
      const raw = (values[f.name] ?? '').trim();
      if (raw === '') {
        delete body[f.name];
        continue;
      }
      if (f.type === 'lines')
        body[f.name] = raw
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== '');
      else if (f.type === 'number' || (DURATIONS.has(f.name) && /^\d+$/.test(raw)))
        body[f.name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
      else if (f.name === 'tags') body[f.name] = raw.split(',').flatMap((s) => (s.trim() ? [s.trim()] : []));
      else if (f.name === 'expectedStatus' && raw.includes(',')) body[f.name] = raw.split(',').map((s) => s.trim());
      else body[f.name] = raw;
    }
    try {
      const saved = check
        ? await api<CheckView>(`/admin/checks/${encodeURIComponent(check.id)}`, { method: 'PUT', body })
        : await api<CheckView>('/admin/checks', { method: 'POST', body });
      onDone(saved);
    } catch (err) {
      if (err instanceof ApiError) {
        const list =
          err.body.problems ?? (err.body.field ? [{ field: err.body.field, message: err.body.message ?? '' }] : []);
        setProblems(list);
        const known = new Set(shown.map((f) => f.name));
        const unplaced = list.filter((p) => !known.has(p.field.split('.')[0]!));
        setGeneral(list.length === 0 ? err.message : unplaced.map((p) => `${p.field}: ${p.message}`).join('; '));
      } else setGeneral(String(err));
    } finally {
      setBusy(false);
    }
  };

  // A list's problems name the item (`conditions.1`): shown as its line.
  const problemOf = (name: string) =>
    problems
      .filter((p) => p.field === name || p.field.startsWith(`${name}.`))
      .map((p) => {
        const item = /^\.(\d+)$/.exec(p.field.slice(name.length));
        return item ? `line ${Number(item[1]) + 1}: ${p.message}` : p.message;
      })
      .join('; ');

  return (
    <form class="check-form" onSubmit={(e) => void submit(e)} aria-labelledby="check-form-h" noValidate>
      <h2 id="check-form-h">{check ? `Edit ${check.name}` : 'Add a check'}</h2>
      {general && (
        <p class="error" role="alert">
          {general}
        </p>
      )}
      <div class="field">
        <label for="f-kind">Kind</label>
        <select
          id="f-kind"
          value={kind}
          disabled={!!check}
          onChange={(e) => setValues({ ...values, kind: e.currentTarget.value })}
        >
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </div>
      {shown.map((f) => {
        const p = problemOf(f.name);
        return (
          <div class="field" key={f.name}>
            <label for={`f-${f.name}`}>{f.label}</label>
            {f.type === 'lines' ? (
              <textarea
                id={`f-${f.name}`}
                name={f.name}
                rows={3}
                value={values[f.name]}
                placeholder={f.hint}
                spellcheck={false}
                aria-invalid={p ? true : undefined}
                aria-describedby={p ? `e-${f.name}` : undefined}
                onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
              />
            ) : (
              <input
                id={`f-${f.name}`}
                name={f.name}
                type="text"
                inputMode={f.type === 'number' ? 'numeric' : f.type === 'url' ? 'url' : 'text'}
                value={values[f.name]}
                placeholder={f.hint}
                aria-invalid={p ? true : undefined}
                aria-describedby={p ? `e-${f.name}` : undefined}
                onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
              />
            )}
            {p && (
              <span class="field-error" id={`e-${f.name}`}>
                {p}
              </span>
            )}
          </div>
        );
      })}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {check ? 'Save' : 'Add check'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
