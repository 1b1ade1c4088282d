import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { HealthRecord, LogRecord, SluiceRecord } from '../../src/record.js';
import { FileSink } from '../../src/sinks/file/file-sink.js';
import type { Batch } from '../../src/sinks/sink.js';
import { tempDir } from '../helpers/app.js';

const dirs: Array<() => void> = [];
after(() => dirs.forEach((d) => d()));

const log = (i: number): LogRecord => ({ type: 'log', id: `l${i}`, ts: 1_790_000_000_000_000 + i, received_at: 1_790_000_000_000_000, level: 'info', service: 'svc', message: `m${i}`, attrs: '{"k":1}', trace_id: null, span_id: null, size: 100 });
const ping = (i: number): HealthRecord => ({ type: 'health', id: `h${i}`, ts: 1_790_000_000_000_000, received_at: 1_790_000_000_000_000, service: 'db', status: 'up', latency_ms: 3, message: null, attrs: null, size: 100 });
const batch = (records: SluiceRecord[]): Batch => ({ id: 'b', records, bytes: 0, createdAt: 0, trigger: 'size', tickets: [], links: [] });

describe('FileSink', () => {
  test('writes NDJSON, one file per record type, with RFC 3339 times and attrs as JSON', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const sink = new FileSink({ dir: dir.path, maxBytes: 1e9, maxAgeMs: 1e9, fsync: true });
    await sink.start();
    await sink.writeBatch(batch([log(0), ping(0), log(1)]));
    await sink.close();
    const files = readdirSync(dir.path).sort();
    assert.equal(files.length, 2);
    assert.ok(files[0]!.startsWith('health-') && files[1]!.startsWith('log-'));
    const logs = readFileSync(join(dir.path, files[1]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(logs.map((l) => l.id), ['l0', 'l1']);
    assert.equal(logs[1]!.ts, '2026-09-21T14:13:20.000001Z');
    assert.deepEqual(logs[0]!.attrs, { k: 1 });
    assert.ok(!('size' in logs[0]!), 'internal accounting stays internal');
  });

  test('rotates by size', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    const sink = new FileSink({ dir: dir.path, maxBytes: 1024, maxAgeMs: 1e9, fsync: false });
    await sink.start();
    for (let i = 0; i < 10; i++) await sink.writeBatch(batch(Array.from({ length: 5 }, (_, j) => log(i * 5 + j))));
    await sink.close();
    const files = readdirSync(dir.path);
    assert.ok(files.length > 1, `rotated into ${files.length} files`);
    const total = files.reduce((n, f) => n + readFileSync(join(dir.path, f), 'utf8').trim().split('\n').length, 0);
    assert.equal(total, 50, 'no line lost across rotations');
  });

  test('rotates by age', async () => {
    const dir = tempDir();
    dirs.push(dir.remove);
    let now = 1_000_000;
    const sink = new FileSink({ dir: dir.path, maxBytes: 1e9, maxAgeMs: 60_000, fsync: false, now: () => now });
    await sink.start();
    await sink.writeBatch(batch([log(0)]));
    now += 59_000;
    await sink.writeBatch(batch([log(1)]));
    now += 2_000;
    await sink.writeBatch(batch([log(2)]));
    await sink.close();
    assert.equal(readdirSync(dir.path).length, 2);
  });
});
