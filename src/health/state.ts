// The per-check state machine: results come in as up/degraded/down and the state only moves
// once enough of them agree (failureThreshold / successThreshold), so one blip does not flap.
// From `unknown` the first result decides at once: there is no earlier state to protect.
import type { HealthStatus } from '../record.js';

export type CheckStateName = HealthStatus | 'unknown';

export interface CheckState {
  state: CheckStateName;
  /** Epoch ms of the last state change (or of registration while unknown). */
  since: number;
  /** Consecutive down results. */
  failures: number;
  /** Consecutive non-down results. */
  successes: number;
  /** Consecutive results of the latest result's status. */
  streak: number;
  lastStatus: HealthStatus | null;
}

export interface Transition {
  from: CheckStateName;
  to: HealthStatus;
  at: number;
}

export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
}

export function initialState(now: number, state: CheckStateName = 'unknown', since = now): CheckState {
  return { state, since, failures: 0, successes: 0, streak: 0, lastStatus: null };
}

/** Applies one result in place; returns the transition when the state changed. */
export function applyResult(s: CheckState, status: HealthStatus, t: Thresholds, now: number): Transition | null {
  s.streak = status === s.lastStatus ? s.streak + 1 : 1;
  s.lastStatus = status;
  if (status === 'down') {
    s.failures++;
    s.successes = 0;
  } else {
    s.successes++;
    s.failures = 0;
  }
  if (s.state === status) return null;
  let move: boolean;
  if (s.state === 'unknown') move = true;
  else if (status === 'down') move = s.failures >= t.failureThreshold;
  else if (s.state === 'down') move = s.successes >= t.successThreshold;
  // up ⇄ degraded: the new status itself must hold for successThreshold results.
  else move = s.streak >= t.successThreshold;
  if (!move) return null;
  const tr: Transition = { from: s.state, to: status, at: now };
  s.state = status;
  s.since = now;
  return tr;
}

/** The sluice_check_up gauge value. */
export function stateValue(state: CheckStateName): number {
  return state === 'up' ? 1 : state === 'degraded' ? 0.5 : 0;
}
