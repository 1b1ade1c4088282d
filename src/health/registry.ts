// Which checks exist: those of the config file and those added through the admin API (kept in
// the check store). Changes to one check id run one at a time; different ids run concurrently.
import { SluiceError } from '../errors.js';
import type { CheckRecord } from '../record.js';
import { uuidv7 } from '../record.js';
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

export class CheckRegistry {
  private readonly entries = new Map<string, RegisteredCheck>();
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

  mustGet(id: string): RegisteredCheck {
    const e = this.entries.get(id);
    if (!e) throw new SluiceError('SLUICE_ERR_NOT_FOUND', { what: `check with id "${id}"` });
    return e;
  }

  /** Registers a loaded check (config file or store) without writing it anywhere. */
  add(check: Check, stored?: StoredState): void {
    this.entries.set(check.id, this.opts.activate(check, stored));
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
    return this.serial(id, () => this.updateNow(id, input));
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
  private async updateNow(id: string, input: unknown): Promise<RegisteredCheck> {
    const e = this.mustGet(id);
    if (e.check.source === 'config')
      throw new SluiceError('SLUICE_ERR_CONFLICT', `check "${id}" is defined in the config file: change it there`);
    const def = validate(input, this.opts.vet);
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

  private drop(e: RegisteredCheck, deleted: boolean): void {
    this.entries.delete(e.check.id);
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
