// The stdout sink: one NDJSON line per record, and a reader that stops reading holds the
// batch back (the write waits for 'drain') instead of letting output pile up in memory.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { StdoutSink } from '../../src/sinks/stdout/stdout-sink.js';
import { batch, log, ping } from '../helpers/file-sink.js';

test('writes each record of a batch as one JSON line, in order, with RFC 3339 times', async () => {
  let text = '';
  const out = new Writable({ write: (chunk: Buffer, _enc, cb) => ((text += chunk.toString()), cb()) });
  const sink = new StdoutSink(out);
  await sink.writeBatch(batch([log(0), ping(0), log(1)]));
  await sink.close();
  assert.ok(text.endsWith('\n'));
  const lines = text
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.type, l.id]),
    [
      ['log', 'l0'],
      ['health', 'h0'],
      ['log', 'l1'],
    ],
  );
  assert.equal(lines[2]!.ts, '2026-09-21T14:13:20.000001Z');
  assert.deepEqual(lines[0]!.attrs, { k: 1 });
  assert.ok(!('size' in lines[0]!), 'internal accounting stays internal');
});

test('a reader that is not keeping up holds the batch until the stream drains', async () => {
  const pending: Array<() => void> = [];
  // One byte of buffer: every write is over the mark, and it completes only when the test says.
  const out = new Writable({ highWaterMark: 1, write: (_chunk, _enc, cb) => void pending.push(cb) });
  const sink = new StdoutSink(out);
  let done = false;
  const written = sink.writeBatch(batch([log(0)])).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, "the write waits: 'drain' cannot come before the reader takes the line");
  assert.equal(pending.length, 1);
  pending.shift()!();
  await written;
  assert.equal(done, true);
});
