// A collector whose sink never completes a write, run as a child process by the shutdown
// test: a graceful stop would wait for its whole deadline, so only a second signal ends it fast.
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { runUntilSignal } from '../../src/cli/serve-command.js';
import type { Sink } from '../../src/sinks/sink.js';
import { testConfig } from './app.js';

const dir = process.argv[2]!;
const stuck: Sink = { name: 'stuck', writeBatch: () => new Promise<void>(() => undefined), close: async () => {} };
const config = testConfig({ 'shutdown.timeoutMs': 60_000, 'batch.maxWaitMs': 5, 'log.level': 'info' }, dir);
const app = await createApp(config, { sink: stuck, logger: pino({ level: 'info' }) });
process.exitCode = await runUntilSignal(app);
