// GET /api/services: the services seen over a window, with their record counts and when each
// was last seen (the (service, ts) index serves it).
import type pg from 'pg';
import { formatMicros } from '../timestamp.js';

export interface ServiceSeen {
  service: string | null;
  count: number;
  last_seen: string;
}

/** `tenant`: only that tenant's records (a tenant's read key), else every record. */
export async function servicesSeen(pool: pg.Pool, fromMicros: number, tenant?: string): Promise<ServiceSeen[]> {
  const { rows } = await pool.query<{ service: string | null; count: string; last_seen: string }>(
    `SELECT service, count(*) AS count, to_char(max(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_seen
       FROM logs WHERE ts >= $1::timestamptz${tenant === undefined ? '' : ' AND tenant = $2'}
      GROUP BY service ORDER BY service NULLS LAST`,
    tenant === undefined ? [formatMicros(fromMicros)] : [formatMicros(fromMicros), tenant],
  );
  return rows.map((r) => ({ service: r.service, count: Number(r.count), last_seen: r.last_seen }));
}
