// The `sluice` command line: dispatches to a command and turns errors into clear messages
// and exit codes (2 for usage and configuration mistakes).
import { SluiceError } from './errors.js';
import { parseArgs } from './cli/args.js';
import { checksCommand } from './cli/checks-command.js';
import { configCommand } from './cli/config-command.js';
import { loadCommand } from './cli/load-command.js';
import { keysCommand } from './cli/keys-command.js';
import { logsCommand } from './cli/logs-command.js';
import { migrateCommand } from './cli/migrate-command.js';
import { serveCommand } from './cli/serve-command.js';

interface Command {
  summary: string;
  booleans?: readonly string[];
  short?: Record<string, string>;
  run: (args: ReturnType<typeof parseArgs>, out: (s: string) => void) => number | Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  serve: { summary: 'run the collector (default)', run: serveCommand },
  migrate: { summary: 'apply the PostgreSQL schema migrations and exit', run: migrateCommand },
  config: {
    summary: 'print the effective config or list every key',
    booleans: ['json', 'sources', 'markdown'],
    run: configCommand,
  },
  logs: {
    summary: 'show stored logs, or follow them live (--follow), from a running collector',
    booleans: ['follow', 'json'],
    short: { q: 'q', f: 'follow' },
    run: logsCommand,
  },
  checks: {
    summary: 'import or export health checks (YAML/JSON) through a running collector',
    run: checksCommand,
  },
  keys: {
    summary: 'create, list or revoke API keys of a running collector',
    booleans: ['json'],
    run: keysCommand,
  },
  load: {
    summary: 'send records to a running collector and measure (load generator)',
    booleans: ['json', 'gzip', 'quiet'],
    run: loadCommand,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: sluice <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`sluice <command> --help\` for a command's options.`;
}

export async function main(argv: string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    out(usage());
    return first === undefined ? 2 : 0;
  }
  const name = first.startsWith('--') ? 'serve' : first;
  const command = COMMANDS[name];
  if (!command) {
    out(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const rest = first.startsWith('--') ? argv : argv.slice(1);
  try {
    return await command.run(parseArgs(rest, command.booleans, command.short), out);
  } catch (err) {
    if (err instanceof SluiceError && (err.code === 'SLUICE_ERR_CONFIG' || err.statusCode < 500)) {
      console.error(`sluice: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
