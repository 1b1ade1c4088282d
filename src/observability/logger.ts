// The service's own structured logs (pino, JSON). Pretty-printed through pino-pretty, off
// the main thread, only when asked or when stdout is a terminal.
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.js';

export function createLogger(log: Config['log'], destination?: pino.DestinationStream): Logger {
  const pretty = log.pretty === 'true' || (log.pretty === 'auto' && process.stdout.isTTY === true && !destination);
  const options: pino.LoggerOptions = {
    level: log.level,
    base: { service: 'sluice' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return destination ? pino(options, destination) : pino(options);
}
