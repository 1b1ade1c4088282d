// The state machine: thresholds keep one blip from flapping the state; unknown resolves at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyResult, initialState, type Transition } from '../../src/health/state.js';
import type { HealthStatus } from '../../src/record.js';

function feed(statuses: HealthStatus[], t = { failureThreshold: 3, successThreshold: 2 }, start = initialState(0)) {
  const transitions: Array<Transition | null> = [];
  statuses.forEach((s, i) => transitions.push(applyResult(start, s, t, i + 1)));
  return { state: start, transitions };
}

test('the first result decides from unknown', () => {
  const { state, transitions } = feed(['down']);
  assert.equal(state.state, 'down');
  assert.deepEqual(transitions[0], { from: 'unknown', to: 'down', at: 1 });
});

test('up → down only after failureThreshold consecutive failures; a success in between resets the count', () => {
  const { state, transitions } = feed(['up', 'down', 'down', 'up', 'down', 'down', 'down']);
  assert.deepEqual(
    transitions.map((t) => t && t.to),
    ['up', null, null, null, null, null, 'down'],
  );
  assert.equal(state.state, 'down');
  assert.equal(state.since, 7);
});

test('down → up only after successThreshold consecutive successes', () => {
  const { state, transitions } = feed(['down', 'up', 'down', 'up', 'up']);
  assert.deepEqual(
    transitions.map((t) => t && `${t.from}>${t.to}`),
    ['unknown>down', null, null, null, 'down>up'],
  );
  assert.equal(state.since, 5);
});

test('a flapping target (alternating) never moves the state with thresholds above 1', () => {
  const { transitions } = feed(['up', 'down', 'up', 'down', 'up', 'down', 'up', 'down']);
  assert.equal(transitions.filter(Boolean).length, 1); // only unknown → up
});

test('thresholds of 1 follow every result; degraded ⇄ up needs the new status to hold', () => {
  const ones = feed(['up', 'down', 'up'], { failureThreshold: 1, successThreshold: 1 });
  assert.equal(ones.transitions.filter(Boolean).length, 3);
  const d = feed(['up', 'degraded', 'up', 'degraded', 'degraded'], { failureThreshold: 3, successThreshold: 2 });
  assert.deepEqual(
    d.transitions.map((t) => t && t.to),
    ['up', null, null, null, 'degraded'],
  );
});

test('a restored state (after restart) keeps its since and needs thresholds to move', () => {
  const restored = initialState(1000, 'down', 500);
  const t = applyResult(restored, 'up', { failureThreshold: 2, successThreshold: 2 }, 1001);
  assert.equal(t, null);
  assert.equal(restored.since, 500);
});
