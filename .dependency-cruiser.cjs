// The architecture lint (npm run lint:arch, part of npm run lint): the import rules of
// docs/architecture.md in executable form. Stages, lowest first:
//   leaves (record, timestamp, uuidv7, batch, errors, timeout, durable-fs, steps, observability/, http/)
//   < postgres/ (the database: pool, migrations runner, partitions; used by sinks/postgres and health)
//   < access/ (API keys: their store and index) < sinks/ < pipeline/ < health/ < ingest/
//   < admin/, query/, ui/ (read side) < config/
//   < load/, cli/, app.ts, main.ts, database.ts (composition)
// A folder imports only what is below it; rules are written by folder so files can move inside one.
// web/ (the browser UI) has its own tsconfig and is not cruised.
const LEAVES = '^src/(record|timestamp|uuidv7|batch|errors|timeout|durable-fs|steps)\\.ts$|^src/(observability|http)/';
const ROOT = '^src/(app|main|database)\\.ts$|^src/(cli|load)/';
const above = (...folders) => `^src/(${folders.join('|')})/|${ROOT}`;
// pipeline/backoff.ts is a pure helper (no imports): the database's reconnect loop uses it too.
const PURE_PIPELINE_HELPERS = '^src/pipeline/backoff\\.ts$';

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
      to: { path: above('postgres', 'access', 'sinks', 'pipeline', 'health', 'ingest', 'admin', 'query', 'ui', 'config') },
    },
    {
      name: 'postgres-is-infrastructure',
      severity: 'error',
      comment: 'The database layer knows no stage: sinks and health use it, not the other way round.',
      from: { path: '^src/postgres/' },
      to: { path: above('access', 'sinks', 'pipeline', 'health', 'ingest', 'admin', 'query', 'ui', 'config'), pathNot: PURE_PIPELINE_HELPERS },
    },
    {
      name: 'access-knows-only-the-database',
      severity: 'error',
      comment: 'API keys are kept in the database or a file; the key code imports no stage above postgres/.',
      from: { path: '^src/access/' },
      to: { path: above('sinks', 'pipeline', 'health', 'ingest', 'admin', 'query', 'ui', 'config') },
    },
    {
      name: 'sinks-see-only-a-batch',
      severity: 'error',
      comment: 'A sink imports no pipeline, health, ingest or admin code: it sees a batch, nothing else.',
      from: { path: '^src/sinks/' },
      to: { path: above('pipeline', 'health', 'ingest', 'admin', 'query', 'ui', 'config') },
    },
    {
      name: 'pipeline-below-ingest-health-admin',
      severity: 'error',
      comment: 'The pipeline imports no ingest, admin or health code.',
      from: { path: '^src/pipeline/' },
      to: { path: above('health', 'ingest', 'admin', 'query', 'ui', 'config') },
    },
    {
      name: 'health-below-ingest-admin',
      severity: 'error',
      comment: 'Health feeds the pipeline like ingest does; it imports no ingest or admin code.',
      from: { path: '^src/health/' },
      to: { path: above('ingest', 'admin', 'query', 'ui', 'config') },
    },
    {
      name: 'ingest-below-admin',
      severity: 'error',
      comment: 'Ingest routes import no admin or health code.',
      from: { path: '^src/ingest/' },
      to: { path: above('admin', 'query', 'ui', 'health', 'config') },
    },
    {
      name: 'read-side-below-config',
      severity: 'error',
      comment:
        'Admin, query and UI routes get their config slice handed in. Exception: admin may import ' +
        'types from ingest (the body guard\'s stats it reports); no ingest code runs from admin.',
      from: { path: '^src/(admin|query|ui)/' },
      to: { path: above('ingest', 'config'), dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'read-side-imports-no-ingest-code',
      severity: 'error',
      comment: 'Even by type, query/ and ui/ import nothing of ingest/.',
      from: { path: '^src/(query|ui)/' },
      to: { path: '^src/ingest/' },
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
