// The architecture lint (npm run lint:arch, part of npm run lint): the import rules of
// docs/architecture.md in executable form. Stages, lowest first:
//   leaves (record, batch, errors, timeout, url-password, durable-fs, observability/, http/)
//   < sinks/ < pipeline/ < health/ < ingest/ < admin/ < config/ < load/, cli/, app.ts, main.ts
// A folder imports only what is below it; rules are written by folder so files can move inside one.
const LEAVES = '^src/(record|batch|errors|timeout|url-password|durable-fs)\\.ts$|^src/(observability|http)/';
const ROOT = '^src/(app|main)\\.ts$|^src/(cli|load)/';
const above = (...folders) => `^src/(${folders.join('|')})/|${ROOT}`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-unresolvable', severity: 'error', comment: 'Every relative import resolves.', from: {}, to: { couldNotResolve: true, path: '^[.]' } },
    { name: 'no-cycles', severity: 'error', comment: 'Modules never import each other in a loop.', from: {}, to: { circular: true } },
    {
      name: 'leaves-import-no-stage',
      severity: 'error',
      comment: 'Shared types and helpers (record, batch, errors, observability, http…) import no stage.',
      from: { path: LEAVES },
      to: { path: above('sinks', 'pipeline', 'health', 'ingest', 'admin', 'config') },
    },
    {
      name: 'sinks-see-only-a-batch',
      severity: 'error',
      comment: 'A sink imports no pipeline, health, ingest or admin code: it sees a batch, nothing else.',
      from: { path: '^src/sinks/' },
      to: { path: above('pipeline', 'health', 'ingest', 'admin', 'config') },
    },
    {
      name: 'pipeline-below-ingest-health-admin',
      severity: 'error',
      comment: 'The pipeline imports no ingest, admin or health code.',
      from: { path: '^src/pipeline/' },
      to: { path: above('health', 'ingest', 'admin', 'config') },
    },
    {
      name: 'health-below-ingest-admin',
      severity: 'error',
      comment: 'Health feeds the pipeline like ingest does; it imports no ingest or admin code.',
      from: { path: '^src/health/' },
      to: { path: above('ingest', 'admin', 'config') },
    },
    {
      name: 'ingest-below-admin',
      severity: 'error',
      comment: 'Ingest routes import no admin or health code.',
      from: { path: '^src/ingest/' },
      to: { path: above('admin', 'health', 'config') },
    },
    {
      name: 'admin-below-config',
      severity: 'error',
      comment: 'Admin routes get their config slice handed in.',
      from: { path: '^src/admin/' },
      to: { path: above('ingest', 'config') },
    },
    {
      name: 'config-composes-only',
      severity: 'error',
      comment: 'config/ composes the stages\' schema fragments; it never imports the composition root.',
      from: { path: '^src/config/' },
      to: { path: ROOT },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
