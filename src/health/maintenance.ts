// Maintenance windows: spans of time in which some checks are expected to fail. One-off
// (`start`..`end`) or recurring (`cron` + `duration` in a time zone), for named checks or for
// groups. While one covers a check its results are recorded as `maintenance`, its state does
// not move (so nothing is alerted) and uptime leaves the time out. Windows come from the config
// file (`health.maintenance`) and from the admin API (kept by a MaintenanceStore).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SluiceError } from '../errors.js';
import { cronProblem, isTimeZone, nextFire } from './cron-schedule.js';
import { parseDuration } from './duration.js';

const ID = /^[A-Za-z0-9][\w.-]{0,63}$/;
const MAX_DURATION_MS = 31 * 86_400_000;
export const MAX_WINDOWS = 1000;

const isoTime = z
  .string()
  .max(64)
  .refine(
    (s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && Number.isFinite(Date.parse(s)),
    'must be an ISO 8601 time like "2026-12-24T22:00:00Z"',
  );

const windowInput = z
  .strictObject({
    id: z
      .string()
      .regex(ID, 'must be 1–64 letters, digits, "_", "." or "-", starting with a letter or digit')
      .optional(),
    name: z.string().min(1).max(200).optional(),
    /** Check names or ids the window covers. */
    checks: z.array(z.string().min(1).max(200)).max(1000).default([]),
    /** Check groups the window covers. */
    groups: z.array(z.string().min(1).max(100)).max(100).default([]),
    start: isoTime.optional(),
    end: isoTime.optional(),
    cron: z.string().min(1).max(200).optional(),
    duration: z
      .union([z.string(), z.number()])
      .transform((v, ctx) => {
        const ms = parseDuration(v);
        if (ms === null || ms < 60_000 || ms > MAX_DURATION_MS) {
          ctx.addIssue({ code: 'custom', message: 'must be a duration from "1m" to "31d"' });
          return z.NEVER;
        }
        return ms;
      })
      .optional(),
    timezone: z.string().min(1).max(100).optional(),
  })
  .superRefine((w, ctx) => {
    const issue = (field: string, message: string): void => ctx.addIssue({ code: 'custom', path: [field], message });
    if (w.checks.length === 0 && w.groups.length === 0)
      issue('checks', 'name at least one check (or a group in groups)');
    const oneOff = w.start !== undefined || w.end !== undefined;
    const recurring = w.cron !== undefined || w.duration !== undefined;
    if (oneOff && recurring) issue('cron', 'a window is one-off (start, end) or recurring (cron, duration), not both');
    else if (oneOff) {
      if (w.start === undefined) issue('start', 'is required with end');
      else if (w.end === undefined) issue('end', 'is required with start');
      else if (Date.parse(w.end) <= Date.parse(w.start)) issue('end', 'must be after start');
      if (w.timezone !== undefined) issue('timezone', 'applies to cron only: give start and end with their offset');
    } else if (recurring) {
      if (w.cron === undefined) issue('cron', 'is required with duration');
      else if (w.duration === undefined) issue('duration', 'is required with cron');
      if (w.timezone !== undefined && !isTimeZone(w.timezone))
        issue('timezone', 'must be an IANA time zone like "Europe/Berlin" or "UTC"');
      const problem = w.cron === undefined ? null : cronProblem(w.cron, w.timezone ?? 'UTC');
      if (problem !== null) issue('cron', problem);
    } else issue('start', 'give start and end (one-off) or cron and duration (recurring)');
  });

/** A window as stored and shown: durations in ms, times as given (ISO). */
export interface MaintenanceWindow {
  id: string;
  name?: string;
  checks: string[];
  groups: string[];
  start?: string;
  end?: string;
  cron?: string;
  duration?: number;
  timezone?: string;
  source: 'config' | 'api';
}

/** Where API-created windows are kept (maintenance-store.ts: a table or a file). */
export interface MaintenanceStore {
  load(): Promise<MaintenanceWindow[]>;
  put(w: MaintenanceWindow): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface WindowProblem {
  field: string;
  message: string;
}

export type WindowParse =
  | { ok: true; window: Omit<MaintenanceWindow, 'source' | 'id'> & { id?: string } }
  | { ok: false; problems: WindowProblem[] };

/** Validates untrusted input; never throws. */
export function parseWindow(input: unknown): WindowParse {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, problems: [{ field: '(body)', message: 'a maintenance window must be a JSON object' }] };
  const r = windowInput.safeParse(input);
  if (!r.success) {
    return {
      ok: false,
      problems: r.error.issues.map((i) => ({
        field: i.code === 'unrecognized_keys' ? i.keys.join(', ') : i.path.map(String).join('.') || '(body)',
        message: i.code === 'unrecognized_keys' ? 'unknown field' : i.message.replace(/^Invalid input: /, ''),
      })),
    };
  }
  const w = r.data;
  const window = Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)) as typeof w;
  if (window.cron !== undefined) window.timezone ??= 'UTC';
  return { ok: true, window };
}

/** The list under `health.maintenance` in the config file: validated at load. */
export const configMaintenanceSchema = z
  .array(z.unknown())
  .max(MAX_WINDOWS)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const r = parseWindow(item);
      if (!r.ok) {
        for (const p of r.problems)
          ctx.addIssue({ code: 'custom', path: [i, p.field], message: `${p.field}: ${p.message}` });
        return;
      }
      const id = r.window.id ?? `config-${i + 1}`;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `id "${id}" is used by two windows` });
      seen.add(id);
    });
  });

/** What a check is matched on: its id, name and (when set) group. */
export interface Coverable {
  id: string;
  name: string;
  group?: string;
}

export interface ActiveWindow {
  window: string;
  /** Epoch ms the window ends. */
  until: number;
}

interface Entry {
  window: MaintenanceWindow;
  startMs: number;
  endMs: number;
  /** Recurring windows: the last answer and how long it holds, so a result costs no cron maths. */
  cache: { from: number; to: number; until: number | null } | null;
}

export class MaintenanceSchedule {
  private readonly entries = new Map<string, Entry>();
  /** Windows by the check names/ids and groups they name: a result looks at its own only. */
  private readonly byTarget = new Map<string, Set<Entry>>();
  private store: MaintenanceStore | undefined;

  /** `config`: the validated `health.maintenance` list. */
  constructor(config: readonly unknown[] = []) {
    config.forEach((item, i) => {
      const r = parseWindow(item);
      if (!r.ok) return; // the config schema already refused it
      const id = r.window.id ?? `config-${i + 1}`;
      this.put(id, entryOf({ ...r.window, id, source: 'config' }));
    });
  }

  /**
   * Adds the windows stored through the API and keeps later changes in `store`. Returns the
   * stored windows not taken (an id the config file uses, or no longer valid), for a warning.
   */
  async attach(store: MaintenanceStore): Promise<Array<{ id: string; why: string }>> {
    const skipped: Array<{ id: string; why: string }> = [];
    for (const stored of await store.load()) {
      const { id, source: _s, ...def } = stored;
      const r = parseWindow(def);
      if (this.entries.has(id)) skipped.push({ id, why: 'the config file has a window with this id' });
      else if (!r.ok) skipped.push({ id, why: `${r.problems[0]!.field}: ${r.problems[0]!.message}` });
      else this.put(id, entryOf({ ...r.window, id, source: 'api' }));
    }
    this.store = store;
    return skipped;
  }

  list(): MaintenanceWindow[] {
    return [...this.entries.values()].map((e) => e.window);
  }

  get(id: string): MaintenanceWindow | undefined {
    return this.entries.get(id)?.window;
  }

  /** Stored before it is answered; the id is taken at once, so two creates of one id cannot both win. */
  async create(input: unknown): Promise<MaintenanceWindow> {
    const store = this.requireStore();
    const def = mustParse(input);
    const id = def.id ?? `mw-${randomUUID().slice(0, 8)}`;
    if (this.entries.has(id))
      throw new SluiceError('SLUICE_ERR_CONFLICT', `a maintenance window with id "${id}" already exists`);
    if (this.entries.size >= MAX_WINDOWS)
      throw new SluiceError('SLUICE_ERR_CONFLICT', `there are ${MAX_WINDOWS} maintenance windows already`);
    const w: MaintenanceWindow = { ...def, id, source: 'api' };
    this.put(id, entryOf(w));
    try {
      await store.put(w);
    } catch (err) {
      this.drop(id);
      throw err;
    }
    return w;
  }

  async update(id: string, input: unknown): Promise<MaintenanceWindow> {
    const store = this.requireStore();
    this.mustBeApi(id, 'change');
    const def = mustParse(input);
    if (def.id !== undefined && def.id !== id)
      throw new SluiceError(
        'SLUICE_ERR_INVALID_MAINTENANCE',
        { field: 'id', problem: `in the body ("${def.id}") differs from the id in the path` },
        { problems: [{ field: 'id', message: 'must match the path' }] },
      );
    const w: MaintenanceWindow = { ...def, id, source: 'api' };
    await store.put(w);
    this.put(id, entryOf(w));
    return w;
  }

  async remove(id: string): Promise<void> {
    const store = this.requireStore();
    this.mustBeApi(id, 'remove');
    await store.delete(id);
    this.drop(id);
  }

  /** The window covering `check` at `now` that ends last, or null. */
  activeFor(check: Coverable, now: number): ActiveWindow | null {
    if (this.byTarget.size === 0) return null;
    const candidates = new Set<Entry>([
      ...(this.byTarget.get(checkKey(check.id)) ?? []),
      ...(this.byTarget.get(checkKey(check.name)) ?? []),
      ...(check.group === undefined ? [] : (this.byTarget.get(groupKey(check.group)) ?? [])),
    ]);
    let best: ActiveWindow | null = null;
    for (const e of candidates) {
      const until = activeUntil(e, now);
      if (until !== null && (best === null || until > best.until)) best = { window: e.window.id, until };
    }
    return best;
  }

  private put(id: string, e: Entry): void {
    this.drop(id);
    this.entries.set(id, e);
    for (const key of keysOf(e.window)) {
      let set = this.byTarget.get(key);
      if (!set) this.byTarget.set(key, (set = new Set()));
      set.add(e);
    }
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    for (const key of keysOf(e.window)) {
      const set = this.byTarget.get(key);
      set?.delete(e);
      if (set?.size === 0) this.byTarget.delete(key);
    }
  }

  private requireStore(): MaintenanceStore {
    // Before the health checker started: the database holding the windows has not connected yet.
    if (!this.store)
      throw new SluiceError(
        'SLUICE_ERR_SINK_FAILED',
        { subject: 'maintenance windows are not loaded yet', detail: 'their storage (the database) is not connected' },
        { retryAfter: 1 },
      );
    return this.store;
  }

  private mustBeApi(id: string, verb: string): void {
    const e = this.entries.get(id);
    if (!e) throw new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `maintenance window "${id}"` });
    if (e.window.source === 'config')
      throw new SluiceError(
        'SLUICE_ERR_CONFLICT',
        `maintenance window "${id}" is defined in the config file: ${verb} it there`,
      );
  }
}

function mustParse(input: unknown): Omit<MaintenanceWindow, 'source' | 'id'> & { id?: string } {
  const r = parseWindow(input);
  if (r.ok) return r.window;
  const first = r.problems[0]!;
  throw new SluiceError(
    'SLUICE_ERR_INVALID_MAINTENANCE',
    { field: first.field, problem: first.message },
    { problems: r.problems },
  );
}

function entryOf(window: MaintenanceWindow): Entry {
  return {
    window,
    startMs: window.start === undefined ? NaN : Date.parse(window.start),
    endMs: window.end === undefined ? NaN : Date.parse(window.end),
    cache: null,
  };
}

const checkKey = (idOrName: string): string => `check\0${idOrName}`;
const groupKey = (group: string): string => `group\0${group}`;

function keysOf(w: MaintenanceWindow): string[] {
  return [...w.checks.map(checkKey), ...w.groups.map(groupKey)];
}

/** When the window ends if it is open at `now`, else null. */
function activeUntil(e: Entry, now: number): number | null {
  const w = e.window;
  if (w.cron === undefined) return now >= e.startMs && now < e.endMs ? e.endMs : null;
  if (e.cache !== null && now >= e.cache.from && now < e.cache.to) return e.cache.until;
  // Open at `now` when a run fired within the last `duration`: the first run after now - duration.
  const duration = w.duration!;
  const fired = nextFire(w.cron, w.timezone ?? 'UTC', now - duration);
  if (fired !== null && fired <= now) {
    e.cache = { from: now, to: fired + duration, until: fired + duration };
    return fired + duration;
  }
  // Closed until the next run (or for good).
  e.cache = { from: now, to: fired ?? Infinity, until: null };
  return null;
}
