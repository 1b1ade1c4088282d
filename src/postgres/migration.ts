// The shape of one schema migration: a version (applied in ascending order, once) and its SQL.
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Runs in one transaction with the row that records it. */
  readonly sql: string;
}
