// `sluice serve`: runs the collector until SIGTERM/SIGINT, then stops gracefully.
// A second signal exits at once.
import { isatty } from 'node:tty';
import { createApp, type App } from '../app.js';
import type { ParsedArgs } from './args.js';
import { CONFIG_FLAGS_HELP, configFromFlags } from './config-flags.js';
import { applyHeapGrowth } from './heap-growth.js';

export const SERVE_HELP = `Usage: sluice serve [config flags]

Runs the collector: HTTP ingest (POST /logs, POST /health), buffer, batcher, writers, sink.
Stops gracefully on SIGTERM or SIGINT (a second signal exits at once). SIGHUP reloads the TLS
certificate (server.tlsCert/tlsKey); run from a terminal (stdin or stdout one) it stops instead,
as a closed terminal sends it.

${CONFIG_FLAGS_HELP}`;

export async function serveCommand(args: ParsedArgs, out: (s: string) => void): Promise<number> {
  if (args.booleans.has('help')) {
    out(SERVE_HELP);
    return 0;
  }
  const { config } = configFromFlags(args.flags);
  applyHeapGrowth(config.runtime.heapGrowthPercent);
  return runUntilSignal(await createApp(config));
}

/** Starts the app and resolves with the exit code after a graceful stop on SIGTERM/SIGINT. */
export async function runUntilSignal(app: App): Promise<number> {
  let signals = 0;
  // Asked now: once the terminal has hung up, isatty() on it fails (the tty answers EIO).
  const fromTerminal = isatty(0) || isatty(1);
  const done = new Promise<number>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        app.logger.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(1);
      }
      app.logger.info({ signal: sig }, 'shutting down gracefully');
      app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          app.logger.error({ err }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    app.onFatal((reason) => {
      if (signals > 0) return;
      signals++;
      app.logger.error({ reason }, 'stopping: the collector cannot go on');
      app.stop().then(
        () => resolve(1),
        () => resolve(1),
      );
    });
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Run as a service (systemd, a container, a pipe) SIGHUP means reload. In a terminal it is
    // what a closed terminal sends: stop as gracefully as for Ctrl-C (the default would kill the
    // process outright and leave the embedded PostgreSQL, in its own session, running).
    process.on('SIGHUP', (sig: NodeJS.Signals) => {
      if (fromTerminal) return onSignal(sig);
      app.logger.info({ signal: sig }, 'reloading');
      app.reload();
    });
  });
  try {
    await app.start();
  } catch (err) {
    app.logger.fatal({ err }, 'start-up failed');
    await app.stop().catch(() => undefined);
    throw err;
  }
  return done;
}
