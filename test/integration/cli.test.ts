// The CLI's own surface: `config print` shows the effective config with secrets masked, every
// command has --help, and an unknown command is a usage error (exit 2), not a crash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const CLI = fileURLToPath(new URL('../helpers/cli.ts', import.meta.url));
const sluice = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: '', POSTGRES_DSN: '' },
  });

test('config print shows flags in effect with the password and tokens masked', () => {
  const r = sluice(
    'config',
    'print',
    '--postgres.url',
    'postgres://u:secretpw@db.example:5432/logs',
    '--auth.ingestTokens',
    'token-abcdefgh',
    '--batch.maxRecords',
    '1234',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /url: postgres:\/\/u:\*\*\*@db\.example:5432\/logs/);
  assert.match(r.stdout, /maxRecords: 1234/);
  assert.doesNotMatch(r.stdout, /secretpw|token-abcdefgh/);
});

test('config print --json is the same config as JSON', () => {
  const r = sluice('config', 'print', '--json', '--batch.maxRecords', '777');
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { batch: { maxRecords: number } }).batch.maxRecords, 777);
});

test('config print --sources shows every key with its value and where it came from, one-level keys too', () => {
  const r = sluice('config', 'print', '--sources', '--batch.maxRecords', '4321');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^batch\.maxRecords = 4321 {4}# flag --batch\.maxRecords$/m);
  assert.match(r.stdout, /^checks = \[\] {4}# default$/m);
  assert.doesNotMatch(r.stdout, /= undefined/);
});

test('every command has --help, and the top-level help lists them', () => {
  const top = sluice('--help');
  assert.equal(top.status, 0);
  for (const c of ['serve', 'migrate', 'config', 'load']) assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'));
  for (const c of [['serve'], ['migrate'], ['config', 'print'], ['load']]) {
    const r = sluice(...c, '--help');
    assert.equal(r.status, 0, `${c.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`Usage: sluice ${c.join(' ')}`), c.join(' '));
  }
});

test('an unknown command or a bad value is a usage error naming it', () => {
  const bogus = sluice('bogus');
  assert.equal(bogus.status, 2);
  assert.match(bogus.stderr + bogus.stdout, /unknown command "bogus"/);
  const bad = sluice('config', 'print', '--batch.maxRecords', 'lots');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr + bad.stdout, /batch\.maxRecords/);
});
