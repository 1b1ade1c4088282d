// Which checks exist: those of the config file and those added through the admin API (kept in
// the check store). Changes to one check id run one at a time; different ids run concurrently.
// Every change costs the same whatever the number of checks: ids and names are looked up in
// maps, and the store writes one line or row (store.ts). A batch (`apply`) is validated whole
// before anything is written, and matches existing checks by name (an upsert).
import { SluiceError } from '../errors.js';
import type { CheckRecord } from '../record.js';
import { uuidv7 } from '../uuidv7.js';
import { parseCheck, type Check, type CheckDefinition, type CheckProblem } from './check-schema.js';
import type { HistoryEntry } from './history.js';
import type { CheckState } from './state.js';
import type { CheckStore, StoredState } from './store.js';

export interface RegisteredCheck {
  check: Check;
  state: CheckState;
  last: CheckRecord | null;
  /** The newest stored result, from before this start (until the first run here). */
  stored: HistoryEntry | null;
  up: { set(v: number): void };
  duration: { observe(v: number): void };
  /** Aborts this check's probe run when it is deleted or replaced (and at shutdown). */
  ac: AbortController;
  /** A run of this check is under way (a PUT's new entry does not wait for the old one's run). */
  running: boolean;
  /** Being deleted: its results no longer save state (a late save would re-create the row). */
  deleting: boolean;
}

export interface RegistryHooks {
  /** Builds a check's entry and starts running it. */
  activate(check: Check, stored?: StoredState): RegisteredCheck;
  /** Stops running a check that is deleted or replaced. */
  deactivate(entry: RegisteredCheck, deleted: boolean): void;
  /** Resolves once the state writes of `id` under way have landed. */
  settled(id: string): Promise<void>;
}

export interface RegistryOptions extends RegistryHooks {
  maxChecks: number;
  /** The store in use (known once health started). */
  store: () => CheckStore;
  /** What the operator's settings refuse about a valid definition (check-policy.ts), or null. */
  vet?: (def: CheckDefinition) => CheckProblem | null;
}

/** Items of a batch written at once (the file store appends them together). */
const BATCH_CONCURRENCY = 64;

/** What a batch did to one of its checks. */
export interface AppliedCheck {
  index: number;
  id: string;
  name: string;
  action: 'created' | 'updated' | 'unchanged';
}

export class CheckRegistry {
  private readonly entries = new Map<string, RegisteredCheck>();
  /** Name → id of the check carrying it (the first one loaded, should a store hold two). */
  private readonly byName = new Map<string, string>();
  private readonly busy = new Map<string, Promise<void>>();
  private creating = 0;

  constructor(private readonly opts: RegistryOptions) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: string): RegisteredCheck | undefined {
    return this.entries.get(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  values(): IterableIterator<RegisteredCheck> {
    return this.entries.values();
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** The id of the check with this name. */
  idByName(name: string): string | undefined {
    return this.byName.get(name);
  }

  mustGet(id: string): RegisteredCheck {
    const e = this.entries.get(id);
    if (!e) throw new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `check with id "${id}"` });
    return e;
  }

  /** Registers a loaded check (config file or store) without writing it anywhere. */
  add(check: Check, stored?: StoredState): void {
    this.entries.set(check.id, this.opts.activate(check, stored));
    if (!this.byName.has(check.name)) this.byName.set(check.name, check.id);
  }

  create(input: unknown): Promise<RegisteredCheck> {
    let def: CheckDefinition;
    try {
      def = validate(input, this.opts.vet);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const id = def.id ?? uuidv7();
    return this.serial(id, () => this.createNow(def, id));
  }

  update(id: string, input: unknown): Promise<RegisteredCheck> {
    return this.serial(id, () => this.updateNow(id, validate(input, this.opts.vet)));
  }

  /**
   * Creates or replaces many checks, matched by name: a check of that name is replaced (kept
   * as it is when its definition is the same), another is created. Every item is validated
   * first, and none is written if one is invalid (400 naming its index and field). A store
   * failure part-way stops the batch with the items written so far kept: sending it again
   * completes it (it is idempotent).
   */
  async apply(inputs: readonly unknown[]): Promise<AppliedCheck[]> {
    const plan = this.plan(inputs);
    const creates = plan.filter((p) => p.existing === undefined).length;
    if (this.entries.size + this.creating + creates > this.opts.maxChecks) {
      throw new SluiceError(
        'SLUICE_ERR_CONFLICT',
        `${creates} new checks would pass health.maxChecks (${this.opts.maxChecks}); ${this.entries.size} are registered`,
      );
    }
    // A bounded number at a time: ten thousand writes at once would queue past the
    // database pool's wait limit. After a failure no further item starts.
    const out: AppliedCheck[] = new Array<AppliedCheck>(plan.length);
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < plan.length) {
        const index = next++;
        try {
          out[index] = await this.applyOne(plan[index]!, index);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, plan.length) }, worker));
    return out;
  }

  private async applyOne(
    { def, existing }: { def: CheckDefinition; existing: string | undefined },
    index: number,
  ): Promise<AppliedCheck> {
    if (existing === undefined) {
      const id = def.id ?? uuidv7();
      await this.serial(id, () => this.createNow(def, id));
      return { index, id, name: def.name, action: 'created' };
    }
    const e = this.entries.get(existing);
    if (e && sameDefinition(e.check, def)) return { index, id: existing, name: def.name, action: 'unchanged' };
    await this.serial(existing, () => this.updateNow(existing, { ...def, id: existing }));
    return { index, id: existing, name: def.name, action: 'updated' };
  }

  /** Validates a batch whole; each item with the id of the check of its name, if any. */
  private plan(inputs: readonly unknown[]): Array<{ def: CheckDefinition; existing: string | undefined }> {
    const problems: Array<CheckProblem & { index: number }> = [];
    const names = new Map<string, number>();
    const plan = inputs.map((input, index) => {
      let def: CheckDefinition;
      try {
        def = validate(input, this.opts.vet);
      } catch (err) {
        const ps = err instanceof SluiceError ? err.problems : undefined;
        for (const p of ps ?? [{ field: '', message: (err as Error).message }])
          problems.push({ field: p.field, message: p.message, index });
        return undefined;
      }
      const seen = names.get(def.name);
      if (seen !== undefined) problems.push({ index, field: 'name', message: `"${def.name}" is also item ${seen}'s` });
      names.set(def.name, index);
      const existing = this.byName.get(def.name);
      const e = existing === undefined ? undefined : this.entries.get(existing);
      if (e?.check.source === 'config')
        problems.push({
          index,
          field: 'name',
          message: `"${def.name}" is a check of the config file: change it there`,
        });
      else if (def.id !== undefined && def.id !== existing && this.entries.has(def.id))
        problems.push({ index, field: 'id', message: `"${def.id}" is the id of another check than "${def.name}"` });
      return { def, existing };
    });
    if (problems.length > 0) {
      const first = problems[0]!;
      throw new SluiceError(
        'SLUICE_ERR_INVALID_CHECK',
        { field: `[${first.index}].${first.field}`, problem: first.message },
        { problems },
      );
    }
    return plan as Array<{ def: CheckDefinition; existing: string | undefined }>;
  }

  remove(id: string): Promise<void> {
    return this.serial(id, () => this.removeNow(id));
  }

  /**
   * Each change checks, then awaits the store, then registers, and two interleaved could both
   * pass the check (two creates of one id, a delete racing an update).
   */
  private serial<T>(id: string, change: () => Promise<T>): Promise<T> {
    const next = (this.busy.get(id) ?? Promise.resolve()).then(change, change);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(id, tail);
    void tail.then(() => {
      if (this.busy.get(id) === tail) this.busy.delete(id);
    });
    return next;
  }

  private async createNow(def: CheckDefinition, id: string): Promise<RegisteredCheck> {
    if (this.entries.has(id)) throw new SluiceError('SLUICE_ERR_CONFLICT', `a check with id "${id}" already exists`);
    this.nameFree(def.name, id);
    // Creates of other ids may be awaiting the store: they count against the limit too.
    if (this.entries.size + this.creating >= this.opts.maxChecks) {
      throw new SluiceError(
        'SLUICE_ERR_CONFLICT',
        `health.maxChecks (${this.opts.maxChecks}) checks are registered already`,
      );
    }
    const now = new Date().toISOString();
    const check: Check = { ...def, id, source: 'api', createdAt: now, updatedAt: now };
    this.creating++;
    try {
      await this.opts.store().put(check);
    } finally {
      this.creating--;
    }
    this.add(check);
    return this.entries.get(id)!;
  }

  /** Replaces a check's definition; the check starts afresh (state unknown). */
  private async updateNow(id: string, def: CheckDefinition): Promise<RegisteredCheck> {
    const e = this.mustGet(id);
    if (e.check.source === 'config')
      throw new SluiceError('SLUICE_ERR_CONFLICT', `check "${id}" is defined in the config file: change it there`);
    this.nameFree(def.name, id);
    if (def.id !== undefined && def.id !== id) {
      throw new SluiceError(
        'SLUICE_ERR_INVALID_CHECK',
        { field: 'id', problem: `in the body ("${def.id}") differs from the id in the path` },
        { problems: [{ field: 'id', message: 'must match the path' }] },
      );
    }
    const check: Check = {
      ...def,
      id,
      source: 'api',
      createdAt: e.check.createdAt,
      updatedAt: new Date().toISOString(),
    };
    await this.opts.store().put(check);
    this.drop(e, false);
    this.add(check);
    return this.entries.get(id)!;
  }

  private async removeNow(id: string): Promise<void> {
    const e = this.mustGet(id);
    if (e.check.source === 'config')
      throw new SluiceError('SLUICE_ERR_CONFLICT', `check "${id}" is defined in the config file: remove it there`);
    e.deleting = true;
    try {
      await this.opts.settled(id);
      await this.opts.store().delete(id);
    } catch (err) {
      e.deleting = false;
      throw err;
    }
    this.drop(e, true);
  }

  /** Names are unique: the API addresses checks by name as well as by id. */
  private nameFree(name: string, id: string): void {
    const holder = this.byName.get(name);
    if (holder !== undefined && holder !== id)
      throw new SluiceError('SLUICE_ERR_CONFLICT', `the check "${holder}" is named "${name}" already`);
  }

  private drop(e: RegisteredCheck, deleted: boolean): void {
    this.entries.delete(e.check.id);
    if (this.byName.get(e.check.name) === e.check.id) this.byName.delete(e.check.name);
    this.opts.deactivate(e, deleted);
  }
}

function validate(input: unknown, vet?: RegistryOptions['vet']): CheckDefinition {
  const r = parseCheck(input);
  const refused = r.ok ? (vet?.(r.check) ?? null) : null;
  if (r.ok && refused === null) return r.check;
  const problems = r.ok ? [refused!] : r.problems;
  const first: CheckProblem = problems[0]!;
  throw new SluiceError('SLUICE_ERR_INVALID_CHECK', { field: first.field, problem: first.message }, { problems });
}

/** Whether a stored check has this definition (key order aside); its id and metadata aside. */
function sameDefinition(c: Check, def: CheckDefinition): boolean {
  const { id: _i, source: _s, createdAt: _c, updatedAt: _u, ...stored } = c;
  const { id: _j, ...given } = def;
  return canonical(stored) === canonical(given);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
