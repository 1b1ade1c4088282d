// The Docker files cannot be run here (no Docker engine), so this keeps them honest:
// the compose file parses, every file it or the Dockerfile refers to exists, the image runs
// as a non-root user, the database's port is not taken on the host, and Grafana shows logs.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const deploy = join(root, 'deploy');

interface Compose {
  services: Record<
    string,
    {
      build?: { context: string; dockerfile: string };
      volumes?: string[];
      environment?: Record<string, string>;
      ports?: string[];
      image?: string;
    }
  >;
}

describe('deploy files', () => {
  const compose = parse(readFileSync(join(deploy, 'docker-compose.yml'), 'utf8')) as Compose;

  test('docker-compose builds the collector from deploy/Dockerfile with the repository as context', () => {
    const build = compose.services.collector!.build!;
    const context = resolve(deploy, build.context);
    assert.equal(context, root);
    assert.ok(existsSync(join(context, build.dockerfile)));
    assert.ok(compose.services.collector!.environment!.POSTGRES_DSN!.startsWith('postgres://'));
    assert.deepEqual(compose.services.collector!.ports, ['8080:8080']);
  });

  test('every bind-mounted file in docker-compose exists', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (!src.startsWith('.')) continue; // a named volume
        assert.ok(existsSync(resolve(deploy, src)), `${name}: ${src} is missing`);
      }
    }
  });

  test('every COPY source in the Dockerfile exists and the entrypoint is the CLI', () => {
    const lines = readFileSync(join(deploy, 'Dockerfile'), 'utf8').split('\n');
    for (const line of lines.filter((l) => /^COPY (?!--from)/.test(l))) {
      for (const src of line.split(/\s+/).slice(1, -1))
        assert.ok(existsSync(join(root, src)), `COPY ${src} is missing`);
    }
    assert.ok(lines.some((l) => l.includes('ENTRYPOINT ["node", "bin/sluice.js"]')));
    assert.ok(existsSync(join(root, 'bin/sluice.js')));
  });

  test('the image runs as a non-root user that owns the data directory', () => {
    const lines = readFileSync(join(deploy, 'Dockerfile'), 'utf8').split('\n');
    const runtime = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')));
    const users = runtime.filter((l) => l.startsWith('USER '));
    assert.equal(users.length, 1, 'one USER in the runtime stage');
    const user = users[0]!.split(/\s+/)[1]!;
    assert.doesNotMatch(user, /^(root|0)(:|$)/);
    const chown = runtime.findIndex((l) => new RegExp(`chown (-R )?${user}(:${user})? /app/data`).test(l));
    assert.ok(chown >= 0 && chown < runtime.indexOf(users[0]!), `/app/data is chowned to ${user} before USER`);
    assert.ok(
      runtime.indexOf(users[0]!) < runtime.findIndex((l) => l.startsWith('ENTRYPOINT')),
      'the entrypoint runs as that user',
    );
  });

  test('only the collector (and the scale-out ingest node), Grafana and Prometheus are published: PostgreSQL keeps 5432 off the host', () => {
    const published = Object.entries(compose.services).flatMap(([name, svc]) =>
      (svc.ports ?? []).map((p) => `${name} ${p}`),
    );
    assert.deepEqual(published.sort(), [
      'collector 8080:8080',
      'grafana 3000:3000',
      'ingest 8081:8080',
      'prometheus 9090:9090',
    ]);
  });

  test('the collector gets its admin and ingest tokens from the environment, and compose refuses to start without them', () => {
    const env = compose.services.collector!.environment!;
    // Clients of a container never come from its loopback: without an admin token nobody could administer it.
    assert.match(env.SLUICE_AUTH_ADMIN_TOKENS!, /^\$\{SLUICE_ADMIN_TOKEN:\?set SLUICE_ADMIN_TOKEN/);
    assert.match(env.SLUICE_AUTH_INGEST_TOKENS!, /^\$\{SLUICE_INGEST_TOKEN:\?set SLUICE_INGEST_TOKEN/);
    const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
    assert.doesNotMatch(dockerfile, /^ENV .*TOKENS/m, 'a token baked into the image');
    assert.match(dockerfile, /-e SLUICE_AUTH_ADMIN_TOKENS=/);
  });

  test('Grafana shows the stored logs: a PostgreSQL datasource on the compose database and a logs dashboard mounted', () => {
    const grafana = compose.services.grafana!;
    const dsFile = parse(readFileSync(join(deploy, 'grafana/provisioning/datasources/postgres.yml'), 'utf8')) as {
      datasources: {
        uid: string;
        type: string;
        url: string;
        user: string;
        jsonData: { database: string };
        secureJsonData: { password: string };
      }[];
    };
    const ds = dsFile.datasources[0]!;
    const dsn = new URL(compose.services.collector!.environment!.POSTGRES_DSN!);
    assert.equal(ds.type, 'grafana-postgresql-datasource');
    assert.equal(ds.url, `${dsn.hostname}:${dsn.port}`, 'the same server the collector writes to');
    assert.equal(ds.user, dsn.username);
    assert.equal(ds.secureJsonData.password, dsn.password);
    assert.equal(ds.jsonData.database, dsn.pathname.slice(1));
    assert.ok(grafana.volumes!.some((v) => v.startsWith('./grafana/sluice-logs.json:/var/lib/grafana/dashboards/')));
    const dash = JSON.parse(readFileSync(join(deploy, 'grafana/sluice-logs.json'), 'utf8')) as {
      panels: { type: string; datasource: { uid: string }; targets: { rawSql: string }[] }[];
    };
    const logs = dash.panels.find((p) => p.type === 'logs');
    assert.ok(logs, 'a logs panel');
    assert.equal(logs.datasource.uid, ds.uid);
    assert.match(logs.targets[0]!.rawSql, /FROM logs\b/);
  });
});
