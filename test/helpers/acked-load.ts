// Clients posting NDJSON in a loop to a collector, keeping the id of every record a 202
// acknowledged: for the tests that kill processes mid-load and then check that each
// acknowledged record is stored exactly once. Every record's id is `<tag>-<client>-<n>-<j>`.
import { setTimeout as delay } from 'node:timers/promises';

export interface AckedLoadOptions {
  clients: number;
  recordsPerRequest: number;
  tag: string;
  service: string;
  /** Every id of a 202 goes here. */
  acked: Set<string>;
  /**
   * Without it a failed request ends its client (the collector is gone: what was in flight was
   * never acknowledged). With it other answers are counted here by status, and after one, or a
   * failed request, the client pauses and goes on (a part of a cluster is gone, not all of it).
   */
  refused?: Map<number, number>;
}

export function ackedLoad(url: string, o: AckedLoadOptions): { stop: () => Promise<void> } {
  let running = true;
  const pause = () => delay(100);
  const clients = Array.from({ length: o.clients }, async (_, c) => {
    for (let n = 0; running; n++) {
      const ids = Array.from({ length: o.recordsPerRequest }, (_, j) => `${o.tag}-${c}-${n}-${j}`);
      const body = ids.map((id) => JSON.stringify({ id, service: o.service, msg: `payload ${id}` })).join('\n');
      try {
        const res = await fetch(`${url}/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
        });
        await res.arrayBuffer();
        if (res.status === 202) for (const id of ids) o.acked.add(id);
        else if (o.refused) {
          o.refused.set(res.status, (o.refused.get(res.status) ?? 0) + 1);
          await pause();
        }
      } catch {
        if (!o.refused) return;
        await pause();
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(clients);
    },
  };
}
