// Maintenance windows: validation (400s naming the field), which checks a window covers (by
// name, id or group), when one-off and recurring windows are open (recurring ones across both
// daylight-saving changes in Europe/Berlin), alerts held while open, and uptime leaving the
// window's results out.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import type { AlertEvent } from '../../src/health/alert-schema.js';
import type { Alerter } from '../../src/health/alerts.js';
import { parseCheck, type Check } from '../../src/health/check-schema.js';
import { MemoryHistory } from '../../src/health/history.js';
import { MaintenanceSchedule, parseWindow } from '../../src/health/maintenance.js';
import { FileMaintenanceStore } from '../../src/health/maintenance-store.js';
import { tempDir } from '../helpers/app.js';
import type { RegisteredCheck } from '../../src/health/registry.js';
import { checkRecordOf, type Outcome } from '../../src/health/results.js';
import { StateAlerts } from '../../src/health/state-alerts.js';
import { initialState } from '../../src/health/state.js';
import type { CheckStore } from '../../src/health/store.js';
import { computeUptime } from '../../src/health/uptime.js';

const at = (iso: string): number => Date.parse(iso);
const web = { id: 'web', name: 'Web front', group: 'edge' };
const db = { id: 'db', name: 'Database' };

const dir = tempDir('sluice-maintenance-');
after(() => dir.remove());
let files = 0;

/** A schedule whose API windows go to a fresh file (or `path`, to read one back). */
async function schedule(
  config: unknown[] = [],
  path = join(dir.path, `m${++files}.json`),
): Promise<MaintenanceSchedule> {
  const m = new MaintenanceSchedule(config);
  await m.attach(new FileMaintenanceStore(path));
  return m;
}

function problems(input: unknown): string[] {
  const r = parseWindow(input);
  return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`);
}

describe('maintenance window definitions', () => {
  test('valid one-off and recurring windows; timezone defaults to UTC for cron', () => {
    assert.deepEqual(problems({ checks: ['web'], start: '2026-12-24T22:00:00Z', end: '2026-12-25T02:00:00Z' }), []);
    const r = parseWindow({ groups: ['edge'], cron: '0 1 * * 0', duration: '2h' });
    assert.ok(r.ok);
    assert.equal(r.window.timezone, 'UTC');
    assert.equal(r.window.duration, 7_200_000);
  });

  test('bad definitions name the field', () => {
    assert.match(
      problems({ start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' })[0]!,
      /^checks: name at least/,
    );
    assert.match(
      problems({ checks: ['a'], start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' })[0]!,
      /^end: must be after start/,
    );
    assert.match(
      problems({ checks: ['a'], start: 'tomorrow', end: '2026-01-01T00:00:00Z' })[0]!,
      /^start: must be an ISO/,
    );
    assert.match(problems({ checks: ['a'], cron: '0 1 * * *' })[0]!, /^duration: is required with cron/);
    assert.match(problems({ checks: ['a'], cron: '0 1 * * *', duration: '10s' })[0]!, /^duration: must be a duration/);
    assert.match(problems({ checks: ['a'], cron: '0 25 * * *', duration: '1h' })[0]!, /^cron: is not a valid/);
    assert.match(
      problems({ checks: ['a'], cron: '0 1 * * *', duration: '1h', start: '2026-01-01T00:00:00Z' })[0]!,
      /^cron: .*not both/,
    );
    assert.match(
      problems({ checks: ['a'], cron: '0 1 * * *', duration: '1h', timezone: 'Nowhere/X' })[0]!,
      /^timezone/,
    );
    assert.match(problems({ checks: ['a'] })[0]!, /^start: give start and end/);
    assert.match(
      problems({ checks: ['a'], start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z', x: 1 })[0]!,
      /^x: unknown field/,
    );
    assert.match(problems([])[0]!, /^\(body\): a maintenance window must be a JSON object/);
  });

  test('config windows cannot be changed through the API; API ones can, and outlive a restart', async () => {
    const path = join(dir.path, 'restart.json');
    const config = [{ id: 'nightly', checks: ['web'], cron: '0 2 * * *', duration: '1h' }];
    const m = await schedule(config, path);
    await assert.rejects(m.remove('nightly'), /defined in the config file/);
    const w = await m.create({ checks: ['db'], start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' });
    assert.equal(w.source, 'api');
    await assert.rejects(
      m.create({ id: w.id, checks: ['db'], start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' }),
      /already exists/,
    );
    await m.update(w.id, { checks: ['web'], start: '2026-01-01T00:00:00Z', end: '2026-01-01T02:00:00Z' });
    await m.create({ id: 'gone', groups: ['edge'], start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' });
    await m.remove('gone');
    assert.equal(m.get('gone'), undefined);
    await assert.rejects(m.remove('gone'), /no maintenance window/);
    const again = await schedule(config, path);
    assert.deepEqual(
      again.list().map((x) => `${x.id}:${x.source}:${x.end ?? x.cron}`),
      ['nightly:config:0 2 * * *', `${w.id}:api:2026-01-01T02:00:00Z`],
    );
  });

  test('a stored window whose id the config file now uses is not taken', async () => {
    const path = join(dir.path, 'clash.json');
    const m = await schedule([], path);
    await m.create({ id: 'x', checks: ['db'], start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' });
    const later = new MaintenanceSchedule([{ id: 'x', checks: ['web'], cron: '0 2 * * *', duration: '1h' }]);
    const skipped = await later.attach(new FileMaintenanceStore(path));
    assert.deepEqual(skipped, [{ id: 'x', why: 'the config file has a window with this id' }]);
    assert.equal(later.get('x')!.source, 'config');
  });

  test('without its store (before start) a change is refused, not lost', async () => {
    const m = new MaintenanceSchedule();
    await assert.rejects(
      m.create({ checks: ['db'], start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' }),
      /not loaded yet/,
    );
  });
});

describe('when a window covers a check', () => {
  test('one-off: by name, id or group, start inclusive, end exclusive', async () => {
    const m = await schedule();
    await m.create({ id: 'w1', groups: ['edge'], start: '2026-05-01T10:00:00Z', end: '2026-05-01T11:00:00Z' });
    await m.create({ id: 'w2', checks: ['Database'], start: '2026-05-01T10:30:00Z', end: '2026-05-01T10:40:00Z' });
    assert.equal(m.activeFor(web, at('2026-05-01T09:59:59.999Z')), null);
    assert.deepEqual(m.activeFor(web, at('2026-05-01T10:00:00Z')), { window: 'w1', until: at('2026-05-01T11:00:00Z') });
    assert.equal(m.activeFor(web, at('2026-05-01T11:00:00Z')), null);
    assert.equal(m.activeFor(db, at('2026-05-01T10:00:00Z')), null, 'db is not in group edge');
    assert.equal(m.activeFor(db, at('2026-05-01T10:35:00Z'))?.window, 'w2');
    await m.create({ id: 'w3', checks: ['db'], start: '2026-05-01T10:35:00Z', end: '2026-05-01T12:00:00Z' });
    assert.equal(m.activeFor(db, at('2026-05-01T10:36:00Z'))?.window, 'w3', 'the window ending last');
  });

  test('recurring Sunday 01:00 Europe/Berlin for 2h: across spring-forward it ends at 04:00 local', async () => {
    const m = await schedule();
    await m.create({ id: 'sun', checks: ['web'], cron: '0 1 * * 0', timezone: 'Europe/Berlin', duration: '2h' });
    // 2026-03-29: 01:00 CET = 00:00Z; two hours later is 02:00Z = 04:00 CEST.
    assert.equal(m.activeFor(web, at('2026-03-28T23:59:59Z')), null);
    assert.deepEqual(m.activeFor(web, at('2026-03-29T00:00:00Z')), {
      window: 'sun',
      until: at('2026-03-29T02:00:00Z'),
    });
    assert.ok(m.activeFor(web, at('2026-03-29T01:59:59Z')));
    assert.equal(m.activeFor(web, at('2026-03-29T02:00:00Z')), null);
    // The next Sunday is in CEST: 01:00 local = 23:00Z the day before.
    assert.equal(m.activeFor(web, at('2026-04-04T22:59:00Z')), null);
    assert.equal(m.activeFor(web, at('2026-04-04T23:00:00Z'))?.until, at('2026-04-05T01:00:00Z'));
  });

  test('recurring across fall-back: 01:00 CEST on 2026-10-25 is 23:00Z the day before', async () => {
    const m = await schedule();
    await m.create({ id: 'sun', checks: ['web'], cron: '0 1 * * 0', timezone: 'Europe/Berlin', duration: '2h' });
    assert.equal(m.activeFor(web, at('2026-10-24T22:59:59Z')), null);
    assert.equal(m.activeFor(web, at('2026-10-24T23:00:00Z'))?.until, at('2026-10-25T01:00:00Z'));
    assert.equal(m.activeFor(web, at('2026-10-25T01:00:00Z')), null);
    // The Sunday after is in CET: 01:00 local = 00:00Z.
    assert.equal(m.activeFor(web, at('2026-10-31T23:30:00Z')), null);
    assert.equal(m.activeFor(web, at('2026-11-01T00:00:00Z'))?.until, at('2026-11-01T02:00:00Z'));
  });

  test('a daily 02:30 Europe/Berlin window on the spring-forward day opens at 03:00 CEST', () => {
    const m = new MaintenanceSchedule([
      { id: 'daily', checks: ['web'], cron: '30 2 * * *', timezone: 'Europe/Berlin', duration: '30m' },
    ]);
    assert.equal(m.activeFor(web, at('2026-03-29T00:59:00Z')), null);
    assert.equal(m.activeFor(web, at('2026-03-29T01:00:00Z'))?.until, at('2026-03-29T01:30:00Z'));
  });
});

describe('alerts held during a window', () => {
  function harness(): { e: RegisteredCheck; alerts: AlertEvent[]; states: StateAlerts } {
    const alerts: AlertEvent[] = [];
    const alerter = { notify: (ev: AlertEvent) => alerts.push(ev) } as unknown as Alerter;
    const saved: string[] = [];
    const store: CheckStore = {
      kind: 'file',
      load: async () => ({ checks: [], states: new Map() }),
      put: async () => {},
      delete: async () => true,
      saveState: async (_id, s) => void saved.push(s.state),
    };
    const r = parseCheck({ name: 'Web front', kind: 'tcp', host: 'example.test', port: 80, failureThreshold: 2 });
    assert.ok(r.ok);
    const check = { ...r.check, id: 'web', source: 'api', createdAt: '', updatedAt: '' } as Check;
    const e: RegisteredCheck = {
      check,
      state: initialState(0),
      last: null,
      stored: null,
      up: { set: () => {} },
      duration: { observe: () => {} },
      ac: new AbortController(),
      running: false,
      deleting: false,
    };
    return { e, alerts, states: new StateAlerts({ alerter, logger: pino({ level: 'silent' }), store: () => store }) };
  }
  const result = (status: 'up' | 'down'): Outcome => ({
    status,
    latencyMs: 1,
    errorClass: status === 'down' ? 'connection_refused' : null,
    message: null,
    details: null,
  });

  test('down inside the window and up again before it ends: nothing is ever sent', () => {
    const { e, alerts, states } = harness();
    states.onResult(e, result('up'), 1);
    for (let i = 0; i < 5; i++) states.onResult(e, result('down'), 10 + i, true);
    assert.equal(e.state.state, 'up');
    states.onResult(e, result('up'), 100);
    states.onResult(e, result('up'), 101);
    assert.equal(alerts.length, 0);
  });

  test('still down once the window ends: alerted then, against the state from before the window', () => {
    const { e, alerts, states } = harness();
    states.onResult(e, result('up'), 1);
    for (let i = 0; i < 5; i++) states.onResult(e, result('down'), 10 + i, true);
    assert.equal(alerts.length, 0);
    states.onResult(e, result('down'), 100);
    assert.equal(alerts.length, 0, 'failureThreshold 2 counts from the end of the window');
    states.onResult(e, result('down'), 101);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]!.from, 'up');
    assert.equal(alerts[0]!.to, 'down');
    assert.equal(alerts[0]!.at, new Date(101).toISOString());
  });
});

describe('uptime leaves maintenance out', () => {
  test('time a maintenance result stands for counts neither up nor observed', () => {
    const t0 = at('2026-05-01T10:00:00Z');
    const points = [
      { ts: t0, ok: true },
      { ts: t0 + 10 * 60_000, ok: false, excluded: true },
      { ts: t0 + 20 * 60_000, ok: false, excluded: true },
      { ts: t0 + 30 * 60_000, ok: true },
    ];
    const u = computeUptime(points, t0 + 40 * 60_000, 60 * 60_000)['1h'];
    assert.equal(u.observedSeconds, 20 * 60);
    assert.equal(u.percent, 100);
    const counted = computeUptime(
      points.map((p) => ({ ts: p.ts, ok: p.ok })),
      t0 + 40 * 60_000,
      60 * 60_000,
    )['1h'];
    assert.equal(counted.percent, 50, 'the same results outside maintenance count');
  });

  test('the in-memory history marks maintenance results as excluded', async () => {
    const h = new MemoryHistory(100);
    const r = parseCheck({ name: 'Web front', kind: 'tcp', host: 'example.test', port: 80 });
    assert.ok(r.ok);
    const check = { ...r.check, id: 'web', source: 'api', createdAt: '', updatedAt: '' } as Check;
    const t0 = Date.now() - 30 * 60_000;
    const add = (min: number, status: 'up' | 'down', maintenance: boolean): void => {
      const rec = checkRecordOf(
        check,
        { status, latencyMs: 1, errorClass: null, message: null, details: null },
        (t0 + min * 60_000) * 1000,
      );
      if (maintenance) rec.status = 'maintenance';
      h.add(rec);
    };
    add(0, 'up', false);
    add(10, 'down', true);
    add(20, 'up', false);
    const u = (await h.uptime('web', 3_600_000))['1h'];
    assert.equal(u.percent, 100);
    assert.ok(u.observedSeconds < 21 * 60 && u.observedSeconds > 19 * 60, String(u.observedSeconds));
  });
});
