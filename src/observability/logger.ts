// The service's own structured logs (pino, JSON, one object per line). Pretty-printed through
// pino-pretty, in a worker thread (a pino transport), only when asked or when stdout is a
// terminal: formatting never runs on the event loop. Lines about a request carry its
// `req_id` (Fastify's per-request child logger, see app.ts); nothing is logged per record.
import { pino, type Logger } from 'pino';
import type { LogConfig } from './config.js';

/** Whether to pretty-print: `log.pretty` true, or auto while stdout is a terminal and no destination was given. */
export function wantsPretty(log: LogConfig, stdoutIsTTY: boolean, hasDestination: boolean): boolean {
  if (log.pretty === 'true') return true;
  return log.pretty === 'auto' && stdoutIsTTY && !hasDestination;
}

export function createLogger(log: LogConfig, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: log.level,
    base: { service: 'sluice' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (wantsPretty(log, process.stdout.isTTY === true, destination !== undefined)) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return destination ? pino(options, destination) : pino(options);
}
