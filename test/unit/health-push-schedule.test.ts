// The cron/grace state machine of push checks, on fake time: new → late → down, pings by URL
// (start, success with its duration, fail), interval checks as before, and cron schedules in
// Europe/Berlin across both daylight-saving changes of 2026 (a job at 02:30 local).
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { parseCheck, type PushCheck } from '../../src/health/check-schema.js';
import { nextFire } from '../../src/health/cron-schedule.js';
import { PushMonitors, type PushOutcome } from '../../src/health/push-monitor.js';

const MIN = 60_000;
const at = (iso: string): number => Date.parse(iso);

function pushCheck(input: Record<string, unknown>): PushCheck {
  const r = parseCheck({ name: 'job', kind: 'push', ...input });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.check as PushCheck;
}

/** Fake setTimeout and Date from `startIso`; tick() jumps whole spans (timers fire in order). */
function clock(t: TestContext, startIso: string): { tickTo(iso: string): void; tick(ms: number): void } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: at(startIso) });
  return {
    tick: (ms) => t.mock.timers.tick(ms),
    tickTo: (iso) => t.mock.timers.tick(at(iso) - Date.now()),
  };
}

function monitors(): { m: PushMonitors; seen: Array<PushOutcome & { at: string }> } {
  const seen: Array<PushOutcome & { at: string }> = [];
  const m = new PushMonitors((_id, o) => seen.push({ ...o, at: new Date().toISOString() }));
  return { m, seen };
}

describe('cron schedules in a time zone', () => {
  test('a 02:30 Europe/Berlin job on the spring-forward day runs once, at the jump (03:00 CEST)', () => {
    const fires: string[] = [];
    let from = at('2026-03-27T12:00:00Z');
    for (let i = 0; i < 3; i++)
      fires.push(new Date((from = nextFire('30 2 * * *', 'Europe/Berlin', from)!)).toISOString());
    assert.deepEqual(fires, ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  test('on the fall-back day 02:30 happens twice but the job runs once, at the first', () => {
    const fires: string[] = [];
    let from = at('2026-10-24T12:00:00Z');
    for (let i = 0; i < 2; i++)
      fires.push(new Date((from = nextFire('30 2 * * *', 'Europe/Berlin', from)!)).toISOString());
    assert.deepEqual(fires, ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });
});

describe('push check definitions with cron', () => {
  test('cron with timezone: UTC by default, failureThreshold 1 unless given', () => {
    const c = pushCheck({ cron: '30 2 * * *', grace: '10m' });
    assert.equal(c.timezone, 'UTC');
    assert.equal(c.failureThreshold, 1);
    assert.equal(pushCheck({ cron: '@daily', failureThreshold: 3 }).failureThreshold, 3);
    assert.equal(pushCheck({ interval: '1m' }).failureThreshold, 2);
  });

  test('bad input is refused naming the field', () => {
    const problems = (input: Record<string, unknown>): string[] => {
      const r = parseCheck({ name: 'j', kind: 'push', ...input });
      return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`);
    };
    assert.match(problems({ cron: '30 2 * * *', interval: '1h' })[0]!, /^interval: .*not both/);
    assert.match(problems({ cron: '61 2 * * *' })[0]!, /^cron: is not a valid cron expression/);
    assert.match(problems({ cron: '0 30 2 * * *' })[0]!, /^cron: must have 5 fields/);
    assert.match(problems({ cron: '0 0 30 2 *' })[0]!, /^cron: never fires/);
    assert.match(problems({ cron: '@daily', timezone: 'Mars/Olympus' })[0]!, /^timezone: must be an IANA time zone/);
    assert.match(problems({ timezone: 'UTC' })[0]!, /^timezone: applies to cron only/);
  });
});

describe('the push state machine', () => {
  test('new until due, late within grace, down (missed) after it, up again on a ping', (t) => {
    const c = clock(t, '2026-06-01T10:00:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ cron: '0 11 * * *', grace: '5m' }));
    assert.equal(m.view('job')!.state, 'new');
    assert.equal(m.view('job')!.dueAt, '2026-06-01T11:00:00.000Z');
    c.tickTo('2026-06-01T11:00:00Z');
    assert.equal(m.view('job')!.state, 'late');
    assert.equal(seen.length, 0, 'late is not a result');
    c.tickTo('2026-06-01T11:04:59.999Z');
    assert.equal(seen.length, 0);
    c.tick(1);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.errorClass, 'missed');
    assert.equal(seen[0]!.status, 'down');
    assert.equal(seen[0]!.at, '2026-06-01T11:05:00.000Z');
    assert.equal(m.view('job')!.state, 'down');
    // The next run is tomorrow; its miss is reported at 11:05 tomorrow, not every interval.
    c.tickTo('2026-06-02T11:04:00Z');
    assert.equal(seen.length, 1);
    assert.equal(m.signal('job', 'success'), true);
    assert.equal(seen[1]!.status, 'up');
    assert.equal(m.view('job')!.state, 'up');
    assert.equal(m.view('job')!.dueAt, '2026-06-03T11:00:00.000Z');
    c.tickTo('2026-06-03T11:04:59Z');
    assert.equal(seen.length, 2);
    assert.equal(m.view('job')!.state, 'late');
    m.stop();
  });

  test('start then success records the duration; start without an end is missed after grace', (t) => {
    const c = clock(t, '2026-06-01T10:59:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ cron: '0 11 * * *', grace: '10m' }));
    c.tickTo('2026-06-01T11:00:00Z');
    m.signal('job', 'start');
    assert.equal(m.view('job')!.state, 'up', 'a running job is not late');
    assert.equal(m.view('job')!.startedAt, '2026-06-01T11:00:00.000Z');
    c.tick(42_000);
    m.signal('job', 'success', 'backup done');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.latencyMs, 42_000);
    assert.deepEqual(seen[0]!.details, { ping: 'success', duration_ms: 42_000 });
    assert.equal(seen[0]!.message, 'backup done');
    assert.equal(m.view('job')!.lastDurationMs, 42_000);
    // Next day: the run starts and never ends.
    c.tickTo('2026-06-02T11:00:00Z');
    m.signal('job', 'start');
    c.tickTo('2026-06-02T11:09:59Z');
    assert.equal(seen.length, 1);
    c.tickTo('2026-06-02T11:10:00Z');
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.errorClass, 'missed');
    assert.match(seen[1]!.message!, /a run started 2026-06-02T11:00:00.000Z has not ended/);
    m.stop();
  });

  test('a fail ping is a down result at once and the schedule shows down', (t) => {
    clock(t, '2026-06-01T10:59:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ cron: '*/5 * * * *', grace: '1m' }));
    m.signal('job', 'fail', 'exit 3');
    assert.equal(seen[0]!.status, 'down');
    assert.equal(seen[0]!.errorClass, 'reported_down');
    assert.equal(seen[0]!.message, 'exit 3');
    assert.equal(m.view('job')!.state, 'down');
    assert.equal(m.signal('other', 'success'), false, 'an unwatched id is refused');
    m.stop();
  });

  test('interval checks keep their rules: due one interval after a ping, missed after grace, repeated each interval', (t) => {
    const c = clock(t, '2026-06-01T00:00:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ interval: '1m', grace: '30s' }));
    c.tick(MIN);
    assert.equal(m.view('job')!.state, 'late');
    c.tick(30_000);
    assert.equal(seen.length, 1);
    c.tick(MIN);
    assert.equal(seen.length, 2, 'repeated one interval later');
    m.signal('job', 'success');
    assert.equal(m.view('job')!.state, 'up');
    c.tick(MIN + 29_999);
    assert.equal(seen.length, 3);
    m.stop();
  });

  test('Europe/Berlin 02:30 across spring-forward: due at 03:00 CEST, no false miss', (t) => {
    const c = clock(t, '2026-03-28T01:31:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ cron: '30 2 * * *', timezone: 'Europe/Berlin', grace: '15m' }));
    assert.equal(m.view('job')!.dueAt, '2026-03-29T01:00:00.000Z');
    // The job runs at the jump (03:00 CEST = 01:00Z) and pings two minutes later.
    c.tickTo('2026-03-29T01:02:00Z');
    assert.equal(m.view('job')!.state, 'late');
    m.signal('job', 'success');
    assert.equal(m.view('job')!.dueAt, '2026-03-30T00:30:00.000Z');
    c.tickTo('2026-03-30T00:44:59Z');
    assert.deepEqual(
      seen.map((s) => s.status),
      ['up'],
    );
    c.tickTo('2026-03-30T00:45:00Z');
    assert.equal(seen.at(-1)!.errorClass, 'missed', 'the next day (CEST) is due at 00:30Z');
    m.stop();
  });

  test('Europe/Berlin 02:30 across fall-back: the repeated 02:30 (CET) is not expected again', (t) => {
    const c = clock(t, '2026-10-24T12:00:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ cron: '30 2 * * *', timezone: 'Europe/Berlin', grace: '10m' }));
    c.tickTo('2026-10-25T00:31:00Z'); // 02:31 CEST, the first 02:30
    m.signal('job', 'success');
    assert.equal(m.view('job')!.dueAt, '2026-10-26T01:30:00.000Z');
    c.tickTo('2026-10-25T01:45:00Z'); // past the second 02:30 (CET) + grace
    assert.equal(m.view('job')!.state, 'up');
    assert.equal(seen.length, 1);
    c.tickTo('2026-10-26T01:40:00Z');
    assert.equal(seen.at(-1)!.errorClass, 'missed');
    m.stop();
  });

  test('a deadline beyond the 24.8-day timer limit waits for it rather than firing at once', (t) => {
    const c = clock(t, '2026-03-01T00:00:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ cron: '0 0 1 1 *', grace: '1h' }));
    c.tickTo('2026-12-31T23:59:00Z');
    assert.equal(seen.length, 0);
    c.tickTo('2027-01-01T01:00:00Z');
    assert.equal(seen.length, 1);
    m.stop();
  });

  test('resume after a restart: the deadline continues from the last ping', (t) => {
    const c = clock(t, '2026-06-01T11:30:00Z');
    const { m, seen } = monitors();
    m.watch('job', pushCheck({ cron: '0 * * * *', grace: '5m' }));
    m.resume('job', at('2026-06-01T11:01:00Z'), at('2026-06-01T11:01:00Z'));
    assert.equal(m.view('job')!.dueAt, '2026-06-01T12:00:00.000Z');
    assert.equal(m.view('job')!.state, 'up');
    c.tickTo('2026-06-01T12:05:00Z');
    assert.equal(seen.length, 1);
    // The last result a fail ping: the schedule says down until the next ping.
    m.watch('failed', pushCheck({ cron: '0 * * * *', grace: '5m' }));
    m.resume('failed', at('2026-06-01T12:01:00Z'), at('2026-06-01T12:01:00Z'), true);
    assert.equal(m.view('failed')!.state, 'down');
    m.stop();
  });
});
