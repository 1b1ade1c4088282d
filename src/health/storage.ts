// Where health keeps its checks, states and results, chosen by the composition root: the
// PostgreSQL tables (results as the pipeline stored them), or a snapshot + change log and a memory ring.
import { join } from 'node:path';
import type pg from 'pg';
import { MemoryHistory, PostgresHistory, type CheckHistory } from './history.js';
import { FileCheckStore } from './file-store.js';
import { PostgresCheckStore, type CheckStore } from './store.js';
import { FileMaintenanceStore, PostgresMaintenanceStore } from './maintenance-store.js';
import type { MaintenanceStore } from './maintenance.js';

export interface HealthStorage {
  store: CheckStore;
  history: CheckHistory;
  /** Maintenance windows created through the admin API. */
  maintenance: MaintenanceStore;
}

export function postgresHealthStorage(pool: pg.Pool): HealthStorage {
  return {
    store: new PostgresCheckStore(pool),
    history: new PostgresHistory(pool),
    maintenance: new PostgresMaintenanceStore(pool),
  };
}

export function fileHealthStorage(health: { dataDir: string; historySize: number }): HealthStorage {
  return {
    store: new FileCheckStore(join(health.dataDir, 'checks.json')),
    history: new MemoryHistory(health.historySize),
    maintenance: new FileMaintenanceStore(join(health.dataDir, 'maintenance.json')),
  };
}
