// An alert event as a webhook body: Sluice's own JSON shape, or Slack-compatible `{"text": …}`.
import type { AlertEvent, Webhook } from './alert-schema.js';
import type { CheckStateName } from './state.js';

const EMOJI: Record<CheckStateName, string> = {
  up: ':large_green_circle:',
  degraded: ':large_yellow_circle:',
  down: ':red_circle:',
  unknown: ':white_circle:',
};

export function alertBody(e: AlertEvent, template: Webhook['template'], reminder = 0): unknown {
  if (template === 'json') return { event: 'check.state_changed', ...e };
  const why = e.result.message ? ` — ${e.result.message}` : '';
  const target = e.check.target ? ` (${e.check.target})` : '';
  if (reminder > 0)
    return {
      text: `${EMOJI[e.to]} *${e.check.name}*${target} is still ${e.to.toUpperCase()} since ${e.at} (reminder ${reminder})${why}`,
    };
  return {
    text: `${EMOJI[e.to]} *${e.check.name}*${target} is ${e.to.toUpperCase()} (was ${e.from}) at ${e.at}${why}`,
  };
}
