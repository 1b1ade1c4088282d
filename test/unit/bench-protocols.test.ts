// The bench's protocols section finds each bench/protocols/<name>.ts by itself (so a protocol's
// rows need no change to bench/run.ts), leaving out the shared driver and helpers without run().
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { protocolFiles, protocolsMarkdown } from '../../bench/sections/protocols.js';
import { tempDir } from '../helpers/app.js';

const dir = tempDir('sluice-bench-protocols-');
after(() => dir.remove());

test('every protocol file but drive.ts, in name order; other files are not protocols', () => {
  for (const name of ['drive.ts', 'syslog.ts', 'otlp.ts', 'notes.md', 'types.d.ts'])
    writeFileSync(join(dir.path, name), '');
  assert.deepEqual(protocolFiles(dir.path), ['otlp.ts', 'syslog.ts']);
});

test("the repository's protocol files each export run(), or are helpers the section skips", async () => {
  const ran: string[] = [];
  for (const file of protocolFiles()) {
    assert.match(file, /^[a-z0-9-]+\.ts$/);
    const mod = (await import(`../../bench/protocols/${file}`)) as { run?: unknown };
    if (typeof mod.run === 'function') ran.push(file);
  }
  assert.ok(!protocolFiles().includes('drive.ts'));
  assert.ok(ran.length >= 1, `protocol files with run(): ${ran.join(', ')}`);
});

test('the report says so when there is no protocol yet, and names a failed file', () => {
  assert.match(
    protocolsMarkdown({ files: [], helpers: [], rows: [], failures: [] }),
    /No protocol in bench\/protocols\/ yet/,
  );
  const markdown = protocolsMarkdown({
    files: ['otlp.ts'],
    helpers: ['rounds.ts'],
    rows: [
      {
        protocol: 'OTLP/HTTP protobuf',
        recordsPerBody: 100,
        recordsPerSec: 50_000,
        ndjsonRecordsPerSec: 40_000,
        ratio: 1.25,
        errors: 0,
        file: 'otlp.ts',
      },
    ],
    failures: [{ file: 'loki.ts', error: 'Error: boom\n    at stack' }],
  });
  assert.match(markdown, /\| OTLP\/HTTP protobuf \| 100 \| 50,000 \| 40,000 \| 1\.250× \| 0 \|/);
  assert.match(markdown, /- loki\.ts failed: Error: boom$/m);
});
