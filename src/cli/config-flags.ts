// Turns command-line flags into config overrides: `--port 9000`, `--sink file`,
// `--config file.yaml`, or any key by its dotted name (`--batch.maxRecords 500`).
import { loadConfig, type LoadedConfig } from '../config/load.js';

/** Short flags for the most used keys. */
const SHORT: Record<string, string> = {
  port: 'server.port',
  host: 'server.host',
  sink: 'sink.kind',
  'log-level': 'log.level',
  ack: 'ingest.ack',
  role: 'server.role',
};

export function configFromFlags(flags: Record<string, string>, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const { config: file, ...rest } = flags;
  const overrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(rest)) overrides[SHORT[k] ?? k] = v;
  return loadConfig({ file, env, flags: overrides });
}

export const CONFIG_FLAGS_HELP = `Config flags (defaults < --config file < SLUICE_* env < flags):
  --config FILE           YAML or JSON config file (or env SLUICE_CONFIG)
  --port N, --host ADDR   listen address (env PORT also works)
  --sink KIND             sink kind (see \`sluice config keys\`)
  --ack MODE              when 202 is sent (ingest.ack)
  --role ROLE             all | ingest | writer (server.role; docs/scale-out.md)
  --log-level LEVEL       log level
  --<section.key> VALUE   any config key, e.g. --batch.maxRecords 500`;
