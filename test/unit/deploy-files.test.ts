// The Docker files cannot be run here (no Docker engine), so this keeps them honest:
// the compose file parses, and every file it or the Dockerfile refers to exists.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '../..');
const deploy = join(root, 'deploy');

interface Compose {
  services: Record<string, { build?: { context: string; dockerfile: string }; volumes?: string[]; environment?: Record<string, string>; ports?: string[] }>;
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
      for (const src of line.split(/\s+/).slice(1, -1)) assert.ok(existsSync(join(root, src)), `COPY ${src} is missing`);
    }
    assert.ok(lines.some((l) => l.includes('ENTRYPOINT ["node", "bin/sluice.js"]')));
    assert.ok(existsSync(join(root, 'bin/sluice.js')));
  });
});
